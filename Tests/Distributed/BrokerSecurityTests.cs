using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Weaving.Host.Messaging;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Distributed;

/// <summary>What a host shows of the broker's credentials (nothing), and how it talks TLS (with the system's validation).</summary>
[TestClass]
public sealed class BrokerSecurityTests
{
    static ProcessResult Host(params string[] args) =>
        ProcessRunner.Run("dotnet", [HostProcess.HostDll, .. args], TimeSpan.FromMinutes(1), workingDirectory: Fixtures.RepoRoot);

    static string Reliable => Fixtures.Get("Reliable").WovenDll;

    [TestMethod]
    [DataRow("amqp://guest:s3cret@localhost:5672/", "amqp://guest:***@localhost:5672/")]
    [DataRow("amqps://weaver:p%40ss%2Fw0rd@broker.example/prod", "amqps://weaver:***@broker.example/prod")]
    [DataRow("amqp://user:pa/ss@host/", "amqp://user:***@host/")]
    [DataRow("amqp://user:p@ss@host:notaport/", "amqp://user:***@host:notaport/")]
    [DataRow("cannot reach amqp://a:b@h/ now", "cannot reach amqp://a:***@h/ now")]
    [DataRow("amqp://user@host/ and amqp://host:5672/", "amqp://user@host/ and amqp://host:5672/")]
    public void A_redacted_uri_keeps_everything_but_the_password(string text, string redacted) =>
        Assert.AreEqual(redacted, BrokerConnection.Redact(text));

    [TestMethod]
    [DataRow("amqp://guest:s3cret@host:notaport/")]
    [DataRow("amqp://guest:s3cret@host:99999/")]
    [DataRow("http://guest:s3cret@host/")]
    public void A_bad_broker_uri_is_one_line_without_its_password(string uri)
    {
        var result = Host("--app", Reliable, "--stage", "all", "--rabbitmq", uri);
        Assert.AreEqual(2, result.ExitCode, result.ToString());
        StringAssert.Contains(result.StandardError, "is not an AMQP URI");
        Assert.IsFalse(result.StandardError.Contains("s3cret"), $"the password is shown: {result}");
        Assert.AreEqual(1, result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, result.ToString());
    }

    [TestMethod]
    public void No_log_line_of_the_hosts_or_the_source_shows_the_broker_password()
    {
        using var user = new BrokerUser();
        var distributed = DistributedRun.Run(Fixtures.Get("Reliable"), ["300"], new DistributedRunOptions
        {
            Environment = new Dictionary<string, string> { ["Weaving__RabbitMQ"] = user.Uri },
        });
        Assert.AreEqual(0, distributed.ExitCode, distributed.ToString());
        StringAssert.Contains(distributed.Source.StandardError, $"amqp://{user.Name}:***@localhost", "the broker is logged, without its password");
        Assert.IsFalse(distributed.ToString().Contains(user.Password, StringComparison.Ordinal), $"the password is shown.{Environment.NewLine}{distributed}");

        // A login the broker refuses: the host says so, and still does not show what it tried.
        var refused = Host("--app", Reliable, "--stage", "all", "--rabbitmq", user.Uri.Replace(user.Password, "wrong" + user.Password));
        Assert.AreEqual(3, refused.ExitCode, refused.ToString());
        StringAssert.Contains(refused.StandardError, $"cannot reach RabbitMQ at amqp://{user.Name}:***@localhost");
        Assert.IsFalse(refused.StandardError.Contains(user.Password, StringComparison.Ordinal), $"the password is shown: {refused}");
    }

    [TestMethod]
    public void A_virtual_host_the_broker_refuses_is_one_clear_line()
    {
        Broker.EnsureReachable();
        var result = Host("--app", Reliable, "--stage", "all", "--rabbitmq", "amqp://guest:guest@localhost:5672/no-such-vhost");
        Assert.AreEqual(3, result.ExitCode, result.ToString());
        StringAssert.Contains(result.StandardError, "RabbitMQ at amqp://guest:***@localhost:5672/no-such-vhost refused this process: NOT_ALLOWED");
        Assert.AreEqual(1, result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, result.ToString());
    }

    [TestMethod]
    public void An_amqps_uri_validates_the_broker_certificate_as_the_system_does_including_its_name()
    {
        var factory = BrokerConnection.CreateFactory("amqps://weaver:secret@broker.example/prod", "test");
        Assert.IsTrue(factory.Ssl.Enabled);
        Assert.AreEqual("broker.example", factory.Ssl.ServerName, "the certificate must be issued to the host of the URI");
        Assert.AreEqual(SslPolicyErrors.None, factory.Ssl.AcceptablePolicyErrors,
            "no certificate error is accepted (the client's default for amqps URIs accepts a name mismatch)");
        Assert.IsNull(factory.Ssl.CertificateValidationCallback, "the system's validation, not a callback of ours");
        Assert.AreEqual(SslProtocols.None, factory.Ssl.Version, "the system's choice of TLS versions");
        Assert.AreEqual(5671, factory.Port, "the TLS port by default");
        Assert.AreEqual("prod", factory.VirtualHost);

        var plain = BrokerConnection.CreateFactory("amqp://guest:guest@localhost/", "test");
        Assert.IsFalse(plain.Ssl.Enabled);
    }

    [TestMethod]
    public void An_amqps_broker_whose_certificate_the_system_does_not_trust_is_refused_in_one_line()
    {
        // A TLS endpoint with a self-signed certificate for localhost: the name is right, the issuer is not trusted.
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using var selfSigned = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var certificate = X509CertificateLoader.LoadPkcs12(selfSigned.Export(X509ContentType.Pfx), null);
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var handshakes = 0;
        var server = Task.Run(async () =>
        {
            while (true)
            {
                TcpClient client;
                try { client = await listener.AcceptTcpClientAsync(); }
                catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
                using (client)
                await using (var tls = new SslStream(client.GetStream()))
                {
                    Interlocked.Increment(ref handshakes);
                    try { await tls.AuthenticateAsServerAsync(certificate); }
                    catch (Exception e) when (e is AuthenticationException or IOException) { }
                }
            }
        });
        try
        {
            var result = Host("--app", Reliable, "--stage", "all", "--rabbitmq", $"amqps://guest:guest@localhost:{port}/");
            Assert.AreEqual(3, result.ExitCode, result.ToString());
            StringAssert.Contains(result.StandardError, $"cannot reach RabbitMQ at amqps://guest:***@localhost:{port}/");
            StringAssert.Contains(result.StandardError, "certificate");
            Assert.AreEqual(1, result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, result.ToString());
            Assert.IsTrue(handshakes > 0, "the host spoke TLS to the endpoint");
        }
        finally
        {
            listener.Stop();
            server.Wait(TimeSpan.FromSeconds(10));
        }
    }
}
