using System.Globalization;
using Microsoft.Extensions.Options;

namespace Weaving.Host;

/// <summary>
/// What the host's settings must be, checked as the generic host checks options (<c>ValidateOnStart</c>): each failure
/// names the setting, its command-line option if it has one, what it must be and the value given.
/// </summary>
public sealed class WeavingOptionsValidator : IValidateOptions<WeavingOptions>
{
    public ValidateOptionsResult Validate(string? name, WeavingOptions options)
    {
        var failures = new List<string>();
        void Require(bool valid, string setting, string rule, object value)
        {
            if (!valid) failures.Add($"{setting} {rule}, not {Convert.ToString(value, CultureInfo.InvariantCulture)}");
        }

        Require(options.Prefetch >= 1, "Weaving:Prefetch (--prefetch)", "must be at least 1 (the default is 256)", options.Prefetch);
        Require(options.Retries >= 0, "Weaving:Retries (--retries)", "must be 0 or more (0 fails a throwing handler's message at once)", options.Retries);
        Require(options.MaxMessageBytes >= 1, "Weaving:MaxMessageBytes (--max-message-bytes)", $"must be at least 1 (the default is {WeavingOptions.DefaultMaxMessageBytes})", options.MaxMessageBytes);
        Require(options.PublishWindow >= 1, "Weaving:PublishWindow", "must be at least 1 (the default is 1024)", options.PublishWindow);
        Require(options.DuplicateWindow >= 1, "Weaving:DuplicateWindow", "must be at least 1 (the default is 65536)", options.DuplicateWindow);
        Require(options.MaxHeldBytes >= 1, "Weaving:MaxHeldBytes", "must be at least 1 (the default is 4 GiB)", options.MaxHeldBytes);
        Require(options.DeliveryLimit >= 1, "Weaving:DeliveryLimit", "must be at least 1 (the default is 20)", options.DeliveryLimit);
        Require(options.ReconnectTimeout >= TimeSpan.Zero, "Weaving:ReconnectTimeout", "must not be negative (write a time such as 00:05:00)", options.ReconnectTimeout);
        Require(options.ShutdownTimeout >= TimeSpan.Zero, "Weaving:ShutdownTimeout", "must not be negative (write a time such as 00:00:25)", options.ShutdownTimeout);
        Require(options.Heartbeat >= TimeSpan.FromSeconds(1), "Weaving:Heartbeat", "must be at least 1 second (write a time such as 00:00:05)", options.Heartbeat);
        Require(options.ProgressInterval >= TimeSpan.Zero, "Weaving:ProgressInterval", "must not be negative (00:00:00 turns the progress log off)", options.ProgressInterval);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
