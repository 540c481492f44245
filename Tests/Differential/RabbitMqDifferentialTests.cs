using Weaving.Tests.Distributed;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Differential;

/// <summary>
/// The central promise, across processes: every program prints the same woven through RabbitMQ, one Runtime.Host per
/// stage group plus the source, as it prints unwoven. Needs a broker on localhost: fails (never skips) without one.
/// </summary>
[TestClass]
public sealed class RabbitMqDifferentialTests
{
    public static IEnumerable<object[]> Programs => Fixtures.Differential();

    [TestMethod]
    [DynamicData(nameof(Programs))]
    public void Woven_through_RabbitMQ_with_one_host_per_group_prints_what_unwoven_prints(string name)
    {
        var fixture = Fixtures.Get(name);
        var unwoven = ProcessRunner.RunDotnet(fixture.UnwovenDll);
        var distributed = DistributedRun.Run(fixture);

        Assert.AreEqual(unwoven.ExitCode, distributed.ExitCode, $"exit codes differ.{Environment.NewLine}{distributed}");
        Assert.IsFalse(string.IsNullOrWhiteSpace(unwoven.StandardOutput), $"{name} printed nothing unwoven: the comparison would prove nothing.");
        Assert.AreEqual(unwoven.StandardOutput, distributed.StandardOutput, $"stdout differs.{Environment.NewLine}{distributed}");
    }
}
