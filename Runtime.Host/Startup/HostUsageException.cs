namespace Weaving.Host.Startup;

/// <summary>Bad input the user can fix: reported as one line on stderr, without a stack trace.</summary>
public sealed class HostUsageException(string message, int exitCode = ExitCodes.BadInput) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>A message failed, a publish was refused, or the broker went away while running.</summary>
    public const int RuntimeFailure = 1;
    /// <summary>Missing or unwoven assembly, unknown stage, runtime version mismatch, bad option.</summary>
    public const int BadInput = 2;
    public const int BrokerUnreachable = 3;
    /// <summary>Stopped (SIGTERM) while a handler still ran after <c>Weaving:ShutdownTimeout</c>: its message was abandoned.</summary>
    public const int HandlerAbandoned = 4;
    /// <summary>Stopped by SIGTERM or Ctrl+C before the source finished.</summary>
    public const int Interrupted = 143;
}
