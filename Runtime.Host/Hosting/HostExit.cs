using Microsoft.Extensions.Hosting;
using Weaving.Host.Startup;

namespace Weaving.Host.Hosting;

/// <summary>The process's exit code, set by whichever part finishes or fails; the first failure wins.</summary>
public sealed class HostExit(IHostApplicationLifetime lifetime)
{
    int code = ExitCodes.Success;
    int failed;

    public int Code => Volatile.Read(ref code);

    public bool HasFailed => Volatile.Read(ref failed) != 0;

    /// <summary>The source finished: its exit code is the process's, unless something failed first.</summary>
    public void Finish(int exitCode)
    {
        if (Volatile.Read(ref failed) == 0) Volatile.Write(ref code, exitCode);
        lifetime.StopApplication();
    }

    /// <summary>Something this process cannot go on with: stop, and exit with <paramref name="exitCode"/>.</summary>
    public void Fail(int exitCode = ExitCodes.RuntimeFailure)
    {
        if (Interlocked.Exchange(ref failed, 1) == 0) Volatile.Write(ref code, exitCode);
        lifetime.StopApplication();
    }
}
