using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Weaving.Host.Consuming;
using Weaving.Host.Messaging;
using Weaving.Host.Startup;

namespace Weaving.Host.Hosting;

/// <summary>Consumes the selected groups until the host stops (SIGTERM, Ctrl+C, or a fatal error).</summary>
public sealed class GroupConsumersService(
    WovenApp app, StageSelection selection, BrokerConnection broker, IOptions<WeavingOptions> options, HostMetrics metrics,
    HostExit exit, ILoggerFactory loggers) : BackgroundService
{
    readonly ILogger logger = loggers.CreateLogger<GroupConsumersService>();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var consumers = selection.Groups
            .Select(g => new GroupConsumer(app, g, broker, options.Value, metrics, loggers.CreateLogger<GroupConsumer>(), Fatal))
            .ToList();
        try
        {
            foreach (var consumer in consumers)
                await consumer.StartAsync(stoppingToken);
            await new ProgressLog(options.Value.ProgressInterval, loggers.CreateLogger<ProgressLog>()).RunAsync(consumers, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        catch (Exception e) when (exit.HasFailed) { logger.LogDebug(e, "starting the consumers"); /* reported through Fatal */ }
        catch (Exception e)
        {
            Fatal(e);
        }
        finally
        {
            // Graceful: the message in hand finishes, is published and acknowledged; prefetched ones go back to the queue.
            // A handler still running after the shutdown timeout is abandoned: its message is not acknowledged, and the
            // broker delivers it again.
            var timeout = options.Value.ShutdownTimeout;
            using var grace = new CancellationTokenSource(timeout);
            foreach (var consumer in consumers)
            {
                try
                {
                    await consumer.StopAsync(grace.Token);
                }
                catch (OperationCanceledException) when (grace.IsCancellationRequested && consumer.Running is { } abandoned)
                {
                    logger.LogCritical("Group {Group}: message {Id} of stage {Stage} still running after the shutdown timeout of {Timeout} " +
                        "(Weaving:ShutdownTimeout): abandoned; it is not acknowledged, so the broker delivers it again",
                        consumer.Group.Name, abandoned.Id, abandoned.Stage, timeout);
                    exit.Fail(ExitCodes.HandlerAbandoned);
                    // Nothing of this consumer is closed: the client would wait for the handler first.
                    broker.Abandon();
                    continue;
                }
                catch (Exception e) { logger.LogWarning("Group {Group}: stopping: {Error}", consumer.Group.Name, e.Message); }
                await consumer.DisposeAsync();
            }
        }
    }

    void Fatal(Exception e)
    {
        logger.LogCritical("{Error}", e.Message);
        exit.Fail(ExitCodes.RuntimeFailure);
    }
}
