using System.Runtime.InteropServices;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Distributed;

/// <summary>
/// One Runtime.Host process. On Unix its stdout is appended to a file shared by every process of the run, so that the
/// lines of all of them come out in the order they were written; stderr is collected per process.
/// </summary>
public sealed class HostProcess : IDisposable
{
    readonly RunningProcess process;

    HostProcess(string role, RunningProcess process)
    {
        Role = role;
        this.process = process;
    }

    /// <summary>The host as the build left it beside the tests' own configuration.</summary>
    public static string HostDll
    {
        get
        {
            var path = Path.Combine(Fixtures.RepoRoot, "Runtime.Host", "bin", Fixtures.Configuration, "net10.0", "Runtime.Host.dll");
            if (!File.Exists(path))
                Assert.Fail($"{path} is missing: build the solution first (dotnet build Weaving.sln -c {Fixtures.Configuration}).");
            return path;
        }
    }

    /// <summary>"Main", or the group the host consumes.</summary>
    public string Role { get; }

    public string StandardErrorSoFar => process.StandardErrorSoFar;

    public bool HasExited => process.Process.HasExited;

    /// <summary>The process id: owner records and checkpoints name a host by it ("&lt;machine&gt; pid &lt;id&gt;").</summary>
    public int Pid => process.Id;

    /// <summary>The process's resident memory now (Linux: VmRSS).</summary>
    public long ResidentBytes => ReadStatus("VmRSS");

    /// <summary>The most the process has had resident so far (Linux: VmHWM, the high-water mark).</summary>
    public long PeakResidentBytes => ReadStatus("VmHWM");

    long ReadStatus(string field)
    {
        if (!OperatingSystem.IsLinux()) Assert.Fail("resident memory is read from /proc: Linux only");
        foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0]) * 1024;
        Assert.Fail($"no {field} in /proc/{process.Id}/status");
        return 0;
    }

    public static HostProcess Start(string role, IEnumerable<string> hostArguments, SharedOutput? output,
        IDictionary<string, string>? environment = null)
    {
        string[] dotnet = ["dotnet", HostDll, .. hostArguments];
        var env = new Dictionary<string, string>(environment ?? new Dictionary<string, string>())
        {
            // Debug logs would make stderr large and slow: information is what the tests read.
            ["Logging__LogLevel__Default"] = "Information",
        };
        // A test may route a process through a proxy (see FreezingProxy).
        env.TryAdd("WEAVING_RABBITMQ", Broker.Uri);
        RunningProcess running;
        if (output is not null && !OperatingSystem.IsWindows())
        {
            env["WEAVING_TEST_STDOUT"] = output.Path;
            // exec: the shell becomes the host, so the pid (for SIGTERM) is the host's.
            running = ProcessRunner.Start("/bin/sh", ["-c", "exec \"$@\" >>\"$WEAVING_TEST_STDOUT\"", "sh", .. dotnet], env, Fixtures.RepoRoot);
        }
        else
            running = ProcessRunner.Start(dotnet[0], dotnet[1..], env, Fixtures.RepoRoot);
        return new HostProcess(role, running);
    }

    /// <summary>Waits until stderr contains <paramref name="text"/>; fails the test if the host exits or time runs out.</summary>
    public void WaitForLog(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!StandardErrorSoFar.Contains(text, StringComparison.Ordinal))
        {
            if (process.Process.HasExited)
            {
                var result = process.WaitForExit(TimeSpan.FromSeconds(10));
                Assert.Fail($"host {Role} exited before logging '{text}': {result}");
            }
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"host {Role} did not log '{text}' within {timeout}.{Environment.NewLine}--- stderr ---{Environment.NewLine}{StandardErrorSoFar}");
            Thread.Sleep(50);
        }
    }

    public ProcessResult WaitForExit(TimeSpan timeout) => process.WaitForExit(timeout);

    /// <summary>SIGTERM, as a supervisor stops a host, then waits for it to exit.</summary>
    public ProcessResult Terminate(TimeSpan timeout)
    {
        if (!process.Process.HasExited)
        {
            if (OperatingSystem.IsWindows()) process.Kill();
            else if (kill(process.Id, SIGTERM) != 0) process.Kill();
        }
        return process.WaitForExit(timeout);
    }

    /// <summary>SIGKILL: the host dies mid-message, as on a crash.</summary>
    public void Crash() => process.Kill();

    public void Dispose() => process.Dispose();

    const int SIGTERM = 15;

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int signal);
}

/// <summary>A temporary file that every process of a run appends its stdout to.</summary>
public sealed class SharedOutput : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"weaving-stdout-{Guid.NewGuid():N}.txt");

    public SharedOutput() => File.WriteAllText(Path, "");

    public string Read() => File.ReadAllText(Path);

    public void Dispose()
    {
        try { File.Delete(Path); } catch (IOException) { }
    }
}
