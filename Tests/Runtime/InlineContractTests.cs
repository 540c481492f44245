using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Runtime;

/// <summary>
/// The in-memory runtime decides per group whether a message runs inline (a direct call from its Post stub) or hops to
/// the group's worker. The ordering contract must hold whatever it decides and whenever it changes its mind: every
/// program prints what it printed unwoven under each policy (WEAVING_INLINE), including one that switches every few
/// posts; and the decisions (WEAVING_TRACE) follow the costs.
/// </summary>
[TestClass]
public sealed partial class InlineContractTests
{
    public static IEnumerable<object[]> ProgramsAndForcedPolicies =>
        from program in Fixtures.Differential()
        from policy in new[] { "always", "never", "alternate" }
        select new object[] { program[0], policy };

    [TestMethod]
    [DynamicData(nameof(ProgramsAndForcedPolicies))]
    public void Every_program_prints_what_unwoven_prints_whether_messages_run_inline_hop_or_switch_every_few_posts(string name, string policy)
    {
        var fixture = Fixtures.Get(name);
        var unwoven = ProcessRunner.RunDotnet(fixture.UnwovenDll);
        var woven = ProcessRunner.RunDotnet(fixture.WovenDll, environment: Policy(policy));

        Assert.AreEqual(unwoven.ExitCode, woven.ExitCode, $"WEAVING_INLINE={policy}: exit codes differ.{Environment.NewLine}unwoven: {unwoven}{Environment.NewLine}woven: {woven}");
        Assert.AreEqual(unwoven.StandardOutput, woven.StandardOutput, $"WEAVING_INLINE={policy}: stdout differs.{Environment.NewLine}woven stderr: {woven.StandardError}");
    }

    [TestMethod]
    [DataRow("adaptive")]
    [DataRow("always")]
    [DataRow("never")]
    [DataRow("alternate")]
    public void A_sink_called_from_the_source_and_from_two_workers_runs_one_message_at_a_time_in_order_per_sender(string policy)
    {
        var fixture = Fixtures.Get("SharedSink");
        var unwoven = ProcessRunner.RunDotnet(fixture.UnwovenDll);
        var woven = ProcessRunner.RunDotnet(fixture.WovenDll, environment: Policy(policy));

        StringAssert.Contains(unwoven.StandardOutput, "0 overlaps, 0 out of order", unwoven.ToString());
        Assert.AreEqual(0, woven.ExitCode, woven.ToString());
        Assert.AreEqual(unwoven.StandardOutput, woven.StandardOutput, $"WEAVING_INLINE={policy}: {woven}");
        var groups = Trace(woven);
        // The sink's callers: the source (Left and Right inline), and the workers of Left and Right (when they hop).
        if (policy != "always")
        {
            Assert.IsTrue(groups["OnLeft"].WorkerThreads > 0 && groups["OnRight"].WorkerThreads > 0, woven.StandardError);
            Assert.IsTrue(groups["OnEnd"].Messages > groups["OnEnd"].Inline || policy == "adaptive" || policy == "alternate",
                woven.StandardError);
        }
        if (policy is "always" or "alternate" or "adaptive")
            Assert.IsTrue(groups["OnLeft"].Inline > 0, woven.StandardError);
        if (policy == "never")
            Assert.IsTrue(groups.Values.All(g => g.Inline == 0), woven.StandardError);
        if (policy == "alternate")
            Assert.IsTrue(groups.Values.All(g => g.Switches >= 10), $"the run should have switched every few posts: {woven.StandardError}");
    }

    [TestMethod]
    public void A_stage_that_turns_expensive_gets_a_worker_and_goes_back_inline_when_it_is_cheap_again()
    {
        // SharedSink: a third of the events cheap, a third at about 30 µs a stage, a third cheap again.
        var fixture = Fixtures.Get("SharedSink");
        var woven = ProcessRunner.RunDotnet(fixture.WovenDll, environment: Policy("adaptive"));

        Assert.AreEqual(0, woven.ExitCode, woven.ToString());
        var left = Trace(woven)["OnLeft"];
        Assert.IsTrue(left.WorkerThreads >= 1, $"OnLeft never got a worker: {woven.StandardError}");
        Assert.IsTrue(left.Switches >= 2, $"OnLeft should have been promoted and then taken back: {woven.StandardError}");
        Assert.AreEqual("inline", left.Route, $"after the last cheap third OnLeft should run inline: {woven.StandardError}");
        Assert.IsTrue(left.Inline > 0 && left.Inline < left.Messages, woven.StandardError);
    }

    [TestMethod]
    public void The_source_waiting_for_a_group_alone_in_a_join_drain_is_measured_against_that_group()
    {
        // SharedSink's source must drain before each post to one side after posting to the other (the join rule). Once a
        // side is on its worker, each of those drains waits for the one message it just posted there, whose handler calls
        // the sink inline: what the source waited is measured against that side (RouteDecision.JoinWait), and the
        // adaptive decision takes it off the side's work.
        var fixture = Fixtures.Get("SharedSink");
        var adaptive = ProcessRunner.RunDotnet(fixture.WovenDll, environment: Policy("adaptive"));
        Assert.AreEqual(0, adaptive.ExitCode, adaptive.ToString());
        Assert.IsTrue(Trace(adaptive).Values.Any(g => g.WorkerThreads > 0), $"no side was ever promoted: {adaptive.StandardError}");
        var waits = JoinWaits(adaptive);
        Assert.IsTrue(waits["OnLeft"] > 0 || waits["OnRight"] > 0, $"no join drain measured as a wait for one side: {adaptive.StandardError}");

        // Inline, nothing is ever pending when the source drains: no wait to measure.
        var inline = ProcessRunner.RunDotnet(fixture.WovenDll, environment: Policy("always"));
        Assert.AreEqual(0, inline.ExitCode, inline.ToString());
        Assert.IsTrue(JoinWaits(inline).Values.All(w => w == 0), $"a wait measured with every message inline: {inline.StandardError}");
    }

    static Dictionary<string, double> JoinWaits(ProcessResult run)
    {
        var waits = JoinWaitLine().Matches(run.StandardError).ToDictionary(m => m.Groups["group"].Value,
            m => double.Parse(m.Groups["wait"].Value.Replace(",", "."), System.Globalization.CultureInfo.InvariantCulture));
        Assert.IsTrue(waits.Count > 0, $"no WEAVING_TRACE lines with the source's wait on stderr: {run}");
        return waits;
    }

    [GeneratedRegex(@"weaving: group (?<group>\S+): .*, source waited (?<wait>[0-9.,]+) µs a message")]
    private static partial Regex JoinWaitLine();

    [TestMethod]
    public void A_program_whose_stages_never_pay_for_a_hop_starts_no_thread_and_allocates_nothing_per_event()
    {
        // Pipeline3 with no work per stage: each handler costs nanoseconds, a hop at least a microsecond.
        const int events = 200_000;
        var fixture = Fixtures.Get("Pipeline3");
        var woven = ProcessRunner.RunDotnet(fixture.WovenDll, [events.ToString(), "0"], environment: Policy("adaptive"));
        var unwoven = ProcessRunner.RunDotnet(fixture.UnwovenDll, [events.ToString(), "0"]);

        Assert.AreEqual(unwoven.StandardOutput, woven.StandardOutput, woven.ToString());
        var groups = Trace(woven);
        foreach (var (name, group) in groups)
        {
            Assert.AreEqual("inline", group.Route, $"{name}: {woven.StandardError}");
            Assert.AreEqual(0, group.WorkerThreads, $"{name} started a worker: {woven.StandardError}");
            Assert.AreEqual(group.Messages, group.Inline, $"{name}: {woven.StandardError}");
        }
        // Before the stubs decided first, every post allocated its message: 112 bytes an event here.
        var allocated = long.Parse(AllocatedLine().Match(woven.StandardError).Groups[1].Value);
        Assert.IsTrue(allocated < events / 2, $"the process allocated {allocated} bytes for {events} events: {woven.StandardError}");
    }

    [TestMethod]
    [DataRow("adaptive")]
    [DataRow("always")]
    [DataRow("never")]
    [DataRow("alternate")]
    public void Four_threads_posting_to_one_group_at_the_same_time_never_run_it_twice_at_once(string policy)
    {
        // StageLibrary's [Stage] OnMove updates a Dictionary and a counter, neither thread-safe: had two threads run the
        // group at once (two direct calls, or a direct call beside its worker), moves would be lost or the dictionary
        // broken. Four threads call it at once, each from outside any handler (a source of its own), so they race for the
        // group's claim; the losers' posts become messages for its worker.
        const int threads = 4, moves = 500_000;
        var library = Fixtures.Get("StageLibrary");
        var previous = Environment.GetEnvironmentVariable("WEAVING_INLINE");
        // Read when the library's runtime starts, on its first post, in a load context of its own (its own Weaver.dll,
        // so its own Pipeline): the tests run one at a time (MSTestSettings), so the variable is this test's meanwhile.
        Environment.SetEnvironmentVariable("WEAVING_INLINE", policy);
        try
        {
            var context = new LibraryContext(library.WovenDll);
            var inventory = context.LoadFromAssemblyPath(library.WovenDll).GetType("Inventory", throwOnError: true)!;
            var receive = inventory.GetMethod("Receive", BindingFlags.Public | BindingFlags.Static)!.CreateDelegate<Action<string, int>>();
            var report = inventory.GetMethod("Report", BindingFlags.Public | BindingFlags.Static)!.CreateDelegate<Func<string>>();

            using var start = new Barrier(threads);
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                receive("item" + t, moves);
            }) { IsBackground = true }).ToList();
            workers.ForEach(w => w.Start());
            // A Dictionary written by two threads at once can loop forever: a stuck thread fails the test, not the run.
            foreach (var worker in workers)
                Assert.IsTrue(worker.Join(TimeSpan.FromMinutes(2)), $"WEAVING_INLINE={policy}: a posting thread is stuck, as when OnMove runs on two threads at once.");

            var expected = $"{threads * moves} moves; " + string.Join(", ", Enumerable.Range(0, threads).Select(t => $"item{t}={moves}"));
            Assert.AreEqual(expected, report(), $"WEAVING_INLINE={policy}");
        }
        finally
        {
            Environment.SetEnvironmentVariable("WEAVING_INLINE", previous);
        }
    }

    [TestMethod]
    [DataRow("adaptive")]
    [DataRow("always")]
    public void A_source_thread_that_keeps_a_claim_and_stops_posting_does_not_hold_up_another_threads_posts(string policy)
    {
        // A source thread keeps the claim of a cheap group it posts to from one post to the next (no atomic operation a
        // post). This one posts, then waits without draining. Another thread's posts to the same group find the claim
        // kept: unless the lease is taken from its idle owner (by that sender, or by the group's worker once a message
        // queued), they never run and the drain in Report waits forever.
        const int moves = 1000;
        var (context, receive, report) = LoadLibrary(policy);
        using var posted = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var keeper = new Thread(() =>
        {
            receive("kept", moves);
            posted.Set();
            release.Wait();
        }) { IsBackground = true };
        keeper.Start();
        Assert.IsTrue(posted.Wait(TimeSpan.FromMinutes(1)), "the first thread's posts did not return");

        string? result = null;
        var other = new Thread(() =>
        {
            receive("other", moves);
            result = report();
        }) { IsBackground = true };
        other.Start();
        var finished = other.Join(TimeSpan.FromMinutes(1));
        release.Set();

        Assert.IsTrue(finished, $"WEAVING_INLINE={policy}: the second thread's posts never ran while the first kept the group's claim.");
        Assert.AreEqual($"{2 * moves} moves; kept={moves}, other={moves}", result, $"WEAVING_INLINE={policy}");
        var group = Statistics(context).Single();
        Assert.IsTrue(Count(group, "RanInline") >= moves, $"the first thread's posts should have run inline: {group}");
        Assert.IsTrue(Count(group, "Revocations") >= 1, $"the claim should have been taken from the first thread: {group}");
    }

    [TestMethod]
    public void A_post_that_runs_inline_allocates_nothing_on_the_posting_thread()
    {
        // Forced inline, the library's stage called from a thread of the test: after a warm-up (the JIT, the route, the
        // thread's leases), a million posts. A message, a closure or a boxed value per post would be megabytes.
        const int posts = 1_000_000;
        var (_, receive, _) = LoadLibrary("always");
        receive("item", 10_000);

        var before = GC.GetAllocatedBytesForCurrentThread();
        receive("item", posts);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.IsTrue(allocated < 1024, $"{allocated} bytes allocated for {posts} posts that ran inline");
    }

    internal static (AssemblyLoadContext Context, Action<string, int> Receive, Func<string> Report) LoadLibrary(string policy)
    {
        var library = Fixtures.Get("StageLibrary");
        var previous = Environment.GetEnvironmentVariable("WEAVING_INLINE");
        // Read when the library's runtime starts, on its first post: made here, on the warm-up post of each caller.
        Environment.SetEnvironmentVariable("WEAVING_INLINE", policy);
        try
        {
            var context = new LibraryContext(library.WovenDll);
            var inventory = context.LoadFromAssemblyPath(library.WovenDll).GetType("Inventory", throwOnError: true)!;
            var receive = inventory.GetMethod("Receive", BindingFlags.Public | BindingFlags.Static)!.CreateDelegate<Action<string, int>>();
            var report = inventory.GetMethod("Report", BindingFlags.Public | BindingFlags.Static)!.CreateDelegate<Func<string>>();
            // Starts the runtime under the policy; the drain in Report gives back the claim this thread kept.
            receive("warm-up", 1);
            report();
            inventory.GetMethod("Reset", BindingFlags.Public | BindingFlags.Static)!.Invoke(null, null);
            return (context, receive, report);
        }
        finally
        {
            Environment.SetEnvironmentVariable("WEAVING_INLINE", previous);
        }
    }

    // The in-memory runtime's statistics in a load context of its own (GroupStatistics of its own Weaver.dll).
    static IEnumerable<object> Statistics(AssemblyLoadContext context)
    {
        var pipeline = context.Assemblies.Single(a => a.GetName().Name == "Weaver").GetType("Weaving.Pipeline", throwOnError: true)!;
        var transport = pipeline.GetProperty("Transport")!.GetValue(null)!;
        return ((System.Collections.IEnumerable)transport.GetType().GetProperty("Statistics")!.GetValue(transport)!).Cast<object>();
    }

    static long Count(object statistics, string property) => (long)statistics.GetType().GetProperty(property)!.GetValue(statistics)!;

    sealed class LibraryContext(string path) : AssemblyLoadContext("StageLibrary " + Guid.NewGuid())
    {
        readonly AssemblyDependencyResolver resolver = new(path);

        protected override Assembly? Load(AssemblyName name) =>
            resolver.ResolveAssemblyToPath(name) is { } file ? LoadFromAssemblyPath(file) : null;
    }

    static Dictionary<string, string> Policy(string policy) => new()
    {
        ["WEAVING_INLINE"] = policy,
        ["WEAVING_TRACE"] = "1",
    };

    sealed record GroupTrace(string Route, long Messages, long Inline, long Switches, long WorkerThreads);

    static Dictionary<string, GroupTrace> Trace(ProcessResult run)
    {
        var groups = new Dictionary<string, GroupTrace>();
        foreach (Match m in TraceLine().Matches(run.StandardError))
            groups[m.Groups["group"].Value] = new GroupTrace(m.Groups["route"].Value, long.Parse(m.Groups["messages"].Value),
                long.Parse(m.Groups["inline"].Value), long.Parse(m.Groups["switches"].Value), long.Parse(m.Groups["threads"].Value));
        Assert.IsTrue(groups.Count > 0, $"no WEAVING_TRACE lines on stderr: {run}");
        return groups;
    }

    [GeneratedRegex(@"weaving: group (?<group>\S+): (?<route>inline|hop), handler \S+ µs, hop \S+ µs, (?<messages>\d+) messages \((?<inline>\d+) inline\), (?<switches>\d+) switches, (?<threads>\d+) worker threads")]
    private static partial Regex TraceLine();

    [GeneratedRegex(@"weaving: the process allocated (\d+) bytes")]
    private static partial Regex AllocatedLine();
}
