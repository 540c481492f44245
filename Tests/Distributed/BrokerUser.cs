namespace Weaving.Tests.Distributed;

/// <summary>
/// A broker user of its own, with a password no other string in a run contains, allowed on the tests' virtual host:
/// a log line that shows the password can then be found. Deleted when disposed.
/// </summary>
public sealed class BrokerUser : IDisposable
{
    public BrokerUser()
    {
        var uri = Broker.Uri; // makes the tests' virtual host, which the user is allowed on

        Name = $"weaving-test-{Environment.ProcessId}-{Guid.NewGuid():N}"[..32];
        Password = "pw" + Guid.NewGuid().ToString("N");
        var added = Broker.Rabbitmqctl("add_user", Name, Password);
        Assert.AreEqual(0, added.ExitCode, $"rabbitmqctl add_user failed: {added}");
        var allowed = Broker.Rabbitmqctl("set_permissions", "-p", Broker.Vhost ?? "/", Name, ".*", ".*", ".*");
        Assert.AreEqual(0, allowed.ExitCode, $"rabbitmqctl set_permissions failed: {allowed}");
        Uri = new UriBuilder(uri) { UserName = Name, Password = Password }.Uri.ToString();
    }

    public string Name { get; }
    public string Password { get; }

    /// <summary>The tests' broker URI with this user and password.</summary>
    public string Uri { get; }

    public void Dispose() => Broker.Rabbitmqctl("delete_user", Name);
}
