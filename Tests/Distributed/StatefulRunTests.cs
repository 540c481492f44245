using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Distributed;

/// <summary>
/// The state of a group across runs of the source: long-lived hosts, several runs, each as if the program started anew.
/// </summary>
[TestClass]
public sealed class StatefulRunTests
{
    [TestMethod]
    public void Three_runs_of_the_source_against_the_same_hosts_each_start_from_the_state_the_type_initializers_give()
    {
        var reliable = Fixtures.Get("Reliable");
        string[] args = ["3000"];
        var unwoven = ProcessRunner.RunDotnet(reliable.UnwovenDll, args);
        var distributed = DistributedRun.Run(reliable, args, new DistributedRunOptions { Runs = 3 });

        Assert.AreEqual(0, distributed.ExitCode, distributed.ToString());
        // Each run prints what the unwoven program prints: its totals count its own 3,000 events, not 6,000 or 9,000.
        Assert.AreEqual(string.Concat(Enumerable.Repeat(unwoven.StandardOutput, 3)), distributed.StandardOutput, distributed.ToString());
        var stateful = distributed.Hosts.Single(h => h.Group == DistributedRun.Layout(reliable.WovenDll)!.GroupOf("OnResult").Name);
        StringAssert.Contains(stateful.Result.StandardError, "a new run: state reset to what the type initializers give", stateful.Result.ToString());
    }

    [TestMethod]
    public void WordCount_run_twice_against_the_same_hosts_counts_each_run_alone()
    {
        var wordCount = Fixtures.Get("WordCount");
        // A text of its own, a tenth of the default's 20,000 lines: a second run that kept the first's counts prints
        // them doubled whatever the length, and the differential tests run the default already.
        var file = Path.Combine(Path.GetTempPath(), $"weaving-wordcount-{Guid.NewGuid():N}.txt");
        string[] vocabulary = ["pipeline", "stage", "event", "loop", "handler", "message", "state", "worker", "queue", "broker"];
        var random = new Random(11);
        File.WriteAllLines(file, Enumerable.Range(0, 2_000).Select(_ => string.Join(' ', Enumerable.Range(0, 5 + random.Next(10)).Select(_ => vocabulary[random.Next(vocabulary.Length)]))));
        try
        {
            string[] args = [file];
            var unwoven = ProcessRunner.RunDotnet(wordCount.UnwovenDll, args);
            var distributed = DistributedRun.Run(wordCount, args, new DistributedRunOptions { Runs = 2 });

            Assert.AreEqual(0, distributed.ExitCode, distributed.ToString());
            Assert.AreEqual(unwoven.StandardOutput + unwoven.StandardOutput, distributed.StandardOutput, distributed.ToString());
        }
        finally
        {
            File.Delete(file);
        }
    }
}
