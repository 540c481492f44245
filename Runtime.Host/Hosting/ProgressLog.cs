using Microsoft.Extensions.Logging;
using Weaving.Host.Consuming;

namespace Weaving.Host.Hosting;

/// <summary>
/// A group host's progress, one line per group every <c>Weaving:ProgressInterval</c> while it works: messages per
/// second, in flight, failed. Silent while a group is idle, so that a host waiting for work does not fill its log.
/// </summary>
public sealed class ProgressLog(TimeSpan interval, ILogger logger)
{
    public async Task RunAsync(IReadOnlyList<GroupConsumer> consumers, CancellationToken stoppingToken)
    {
        if (interval <= TimeSpan.Zero)
        {
            await Task.Delay(Timeout.Infinite, stoppingToken);
            return;
        }
        var last = consumers.Select(c => (c.Counters.Processed, c.Counters.Failed)).ToArray();
        using var timer = new PeriodicTimer(interval);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var seconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            for (var i = 0; i < consumers.Count; i++)
            {
                var counters = consumers[i].Counters;
                var (processed, failed, inFlight) = (counters.Processed, counters.Failed, counters.InFlight);
                if (processed == last[i].Processed && failed == last[i].Failed && inFlight == 0) continue;
                logger.LogInformation("Group {Group}: {Rate:0} message(s)/s, {InFlight} in flight, {Failed} failed ({Processed} processed so far)",
                    consumers[i].Group.Name, (processed - last[i].Processed) / seconds, inFlight, failed - last[i].Failed, processed);
                last[i] = (processed, failed);
            }
        }
    }
}
