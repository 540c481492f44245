using System.Reflection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Weaving.Host.Drain;
using Weaving.Host.Messaging;
using Weaving.Host.Startup;

namespace Weaving.Host.Hosting;

/// <summary>
/// <c>--stage Main</c>: runs the program's entry point as the event source, on a thread of its own as <c>dotnet App.dll</c>
/// would, with the program's arguments. The woven Main drains before it returns; its exit code becomes the host's, unless
/// a stateful group was taken over during the run: then its output is known to be incomplete, and the exit code is 1.
/// </summary>
public sealed class SourceService(WovenApp app, ProgramArguments arguments, RabbitMqTransport transport, HostExit exit,
    ILogger<SourceService> logger) : BackgroundService
{
    // What the runtime exits with on an unhandled exception: SIGABRT on Unix, the CLR's exception code on Windows.
    static readonly int unhandledExceptionExitCode = OperatingSystem.IsWindows() ? unchecked((int)0xE0434352) : 134;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var entryPoint = app.Assembly.EntryPoint!;
        var finished = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() => finished.TrySetResult(RunEntryPoint(entryPoint)), maxStackSize: 8 << 20)
        {
            Name = "weaving:Main",
            IsBackground = true,
        };
        thread.Start();
        try
        {
            var exitCode = await finished.Task.WaitAsync(stoppingToken);
            if (transport.Takeovers is { Count: > 0 } takeovers)
            {
                // As the runtime reports failed messages: one line on stderr, after the program's own output.
                foreach (var takeover in takeovers)
                    Console.Error.WriteLine($"weaving: {takeover}: the state they built is lost, so this output is not what an uninterrupted run prints.");
                if (exitCode == 0) exitCode = ExitCodes.RuntimeFailure;
            }
            exit.Finish(exitCode);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            logger.LogWarning("Source: stopped before {App}'s Main returned", app.Name);
            exit.Fail(ExitCodes.Interrupted);
        }
    }

    static Exception Unwrap(Exception e) => e is TargetInvocationException { InnerException: { } inner } ? inner : e;

    int RunEntryPoint(MethodInfo entryPoint)
    {
        try
        {
            return EntryPointCall.Run(entryPoint, arguments.Values);
        }
        catch (Exception e) when (Unwrap(e) is BrokerLostException or RabbitMQ.Client.Exceptions.AlreadyClosedException
                                       or RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.PublishException)
        {
            logger.LogCritical("Source: the run cannot go on: {Error}", Unwrap(e).Message);
            return ExitCodes.RuntimeFailure;
        }
        catch (Exception e)
        {
            var thrown = Unwrap(e);
            // As the runtime reports an exception that escapes Main.
            Console.Error.WriteLine($"Unhandled exception. {thrown}");
            return unhandledExceptionExitCode;
        }
    }
}

/// <summary>The arguments after <c>--</c>: the program's own.</summary>
public sealed record ProgramArguments(string[] Values);
