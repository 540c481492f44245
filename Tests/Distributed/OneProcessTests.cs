using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Distributed;

/// <summary><c>--stage Main,all</c>: the source and every group in one process, on one connection.</summary>
[TestClass]
public sealed class OneProcessTests
{
    /// <summary>
    /// It used to stall about 20 s before exiting in some runs: deleting the source's control queue from the channel that
    /// consumed it, while reports still arrived, held up the client's reading of the connection until the heartbeat ran
    /// out ("Lost the connection … End of stream"). With that fixed it still waited 6 s in some runs (one in twenty, then
    /// most after the host's start-up got faster), logging "took longer than": the generic host's container disposed the
    /// transport synchronously at the end of the host's stop, in a continuation that can run on RabbitMQ.Client's thread
    /// that reads the connection, and the transport's blocking wait there held up the very reply it waited for. The
    /// transport is an IAsyncDisposable now (without it, this test failed at its third run).
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
            Assert.IsFalse(result.StandardError.Contains("took longer than", StringComparison.Ordinal), $"run {run} waited for its connection while ending: {result}");
        }
    }
}
