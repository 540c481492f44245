namespace Weaving.Tests.Distributed;

[TestClass]
public sealed class BrokerFixtureTests
{
    [TestMethod]
    public void A_missing_broker_fails_the_test_with_how_to_start_it_rather_than_skipping_it()
    {
        var failure = Assert.ThrowsExactly<AssertFailedException>(() => Broker.EnsureReachable("amqp://guest:guest@127.0.0.1:1/"));
        StringAssert.Contains(failure.Message, "RabbitMQ is not reachable at 127.0.0.1:1");
        StringAssert.Contains(failure.Message, "rabbitmq-server -detached");
    }

    [TestMethod]
    public void The_broker_of_the_distributed_tests_is_reachable() => Broker.EnsureReachable();
}
