using System.Diagnostics;

namespace Weaving.Benchmarks.Throughput;

/// <summary>
/// Where the broker variants run: <c>WEAVING_RABBITMQ</c> when set, else the local broker in a virtual host of their own
/// (<c>weaving-benchmark</c>, created with rabbitmqctl), so that the queues of a test run on the same broker, which
/// use the same names (weaving.Pipeline3.*), never take the benchmark's messages or give it theirs.
/// </summary>
public static class BenchmarkBroker
{
    public const string VirtualHost = "weaving-benchmark";
    const string Local = "amqp://guest:guest@localhost:5672/";

    static readonly Lazy<(string Uri, string Note)> resolved = new(Resolve);

    public static string Uri => resolved.Value.Uri;

    /// <summary>How the broker was chosen, for the report.</summary>
    public static string Note => resolved.Value.Note;

    static (string, string) Resolve()
    {
        if (Environment.GetEnvironmentVariable("WEAVING_RABBITMQ") is { Length: > 0 } configured)
            return (configured, $"broker from WEAVING_RABBITMQ");
        var created = Rabbitmqctl("add_vhost", VirtualHost) is 0 or 2 // 2: it exists already (older rabbitmqctl)
                      && Rabbitmqctl("set_permissions", "-p", VirtualHost, "guest", ".*", ".*", ".*") == 0;
        return created
            ? (Local + VirtualHost, $"broker: local, virtual host {VirtualHost}")
            : (Local, $"broker: local, default virtual host (rabbitmqctl could not create {VirtualHost}: tests on the same broker may interfere)");
    }

    static int Rabbitmqctl(params string[] arguments)
    {
        try
        {
            var info = new ProcessStartInfo("rabbitmqctl") { RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add("-q");
            foreach (var argument in arguments) info.ArgumentList.Add(argument);
            using var process = Process.Start(info)!;
            process.StandardOutput.ReadToEnd();
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            // Newer rabbitmqctl exits 0 for an existing vhost; older ones say so and exit non-zero.
            return process.ExitCode == 0 || error.Contains("already exists", StringComparison.OrdinalIgnoreCase) ? 0 : process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }
}
