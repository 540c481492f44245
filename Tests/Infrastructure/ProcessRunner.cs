using System.Diagnostics;
using System.Text;

namespace Weaving.Tests.Infrastructure;

/// <summary>The outcome of a finished process.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    public override string ToString() =>
        $"exit code {ExitCode}{Environment.NewLine}--- stdout ---{Environment.NewLine}{StandardOutput}--- stderr ---{Environment.NewLine}{StandardError}";
}

/// <summary>Starts processes for tests: output captured, a time limit that kills the whole tree.</summary>
public static class ProcessRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(3);

    /// <summary>Runs <c>dotnet &lt;dll&gt; args…</c> and waits for it.</summary>
    public static ProcessResult RunDotnet(string dll, IEnumerable<string>? args = null, TimeSpan? timeout = null,
        IDictionary<string, string>? environment = null, string? workingDirectory = null) =>
        Run("dotnet", [dll, .. args ?? []], timeout, environment, workingDirectory ?? Path.GetDirectoryName(dll));

    public static ProcessResult Run(string fileName, IEnumerable<string> args, TimeSpan? timeout = null,
        IDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        using var running = Start(fileName, args, environment, workingDirectory);
        return running.WaitForExit(timeout ?? DefaultTimeout);
    }

    public static RunningProcess Start(string fileName, IEnumerable<string> args,
        IDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        if (environment is not null)
            foreach (var (key, value) in environment) info.Environment[key] = value;
        return new RunningProcess(Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}"));
    }
}

/// <summary>A process whose output is being collected while it runs.</summary>
public sealed class RunningProcess : IDisposable
{
    readonly StringBuilder stdout = new();
    readonly StringBuilder stderr = new();

    public RunningProcess(Process process)
    {
        Process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
    }

    public Process Process { get; }
    public int Id => Process.Id;

    public string StandardOutputSoFar { get { lock (stdout) return stdout.ToString(); } }
    public string StandardErrorSoFar { get { lock (stderr) return stderr.ToString(); } }

    /// <summary>Waits for the exit; past the timeout the process tree is killed and the test fails with its output.</summary>
    public ProcessResult WaitForExit(TimeSpan timeout)
    {
        if (!Process.WaitForExit(timeout))
        {
            Kill();
            throw new TimeoutException($"{Process.StartInfo.FileName} {string.Join(' ', Process.StartInfo.ArgumentList)} did not finish within {timeout}.{Environment.NewLine}--- stdout ---{Environment.NewLine}{StandardOutputSoFar}--- stderr ---{Environment.NewLine}{StandardErrorSoFar}");
        }
        Process.WaitForExit(); // flushes the asynchronous readers
        return new ProcessResult(Process.ExitCode, StandardOutputSoFar, StandardErrorSoFar);
    }

    public void Kill()
    {
        try { if (!Process.HasExited) Process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        Kill();
        Process.Dispose();
    }
}
