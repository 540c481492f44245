using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Distributed;

/// <summary><c>--stage Main,all</c>: the source and every group in one process, on one connection.</summary>
[TestClass]
public sealed class OneProcessTests
{
    /// <summary>
    /// It used to stall about 20 s before exiting in some runs: deleting the source's control queue from the channel that
    /// consumed it, while reports still arrived, held up the client's reading of the connection until the heartbeat ran
    /// out ("Lost the connection … End of stream"). TotalsInMain showed it about one run in five. The close is now done
    /// apart and bounded: no run loses its connection. Closing can still wait for the client (up to the bound, logged
    /// "took longer than") in about one run in twenty, for a reason inside RabbitMQ.Client not found yet (issue 11).
    /// </summary>
    [TestMethod]
    public void The_source_and_every_group_in_one_process_end_cleanly_with_the_unwoven_output_twenty_times_in_a_row()
    {
        var fixture = Fixtures.Get("TotalsInMain");
        Broker.EnsureReachable();
        var layout = DistributedRun.Layout(fixture.WovenDll)!;
        Broker.DeleteQueuesAsync(layout.AllQueues).GetAwaiter().GetResult();
        var unwoven = ProcessRunner.RunDotnet(fixture.UnwovenDll);
        Assert.AreEqual(0, unwoven.ExitCode, unwoven.ToString());

        for (var run = 1; run <= 20; run++)
        {
            var result = ProcessRunner.Run("dotnet", [HostProcess.HostDll, "--app", fixture.WovenDll, "--stage", "Main,all"], TimeSpan.FromMinutes(2),
                new Dictionary<string, string> { ["WEAVING_RABBITMQ"] = Broker.Uri, ["Logging__LogLevel__Default"] = "Information" },
                Fixtures.RepoRoot);
            Assert.AreEqual(0, result.ExitCode, $"run {run}: {result}");
            Assert.AreEqual(unwoven.StandardOutput, result.StandardOutput, $"run {run}");
            Assert.IsFalse(result.StandardError.Contains("Lost the connection", StringComparison.Ordinal), $"run {run} lost its connection while ending: {result}");
        }
    }
}
