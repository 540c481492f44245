using System.Text;
using RabbitMQ.Client;
using Weaving.Host.Messaging;

namespace Weaving.Host.Consuming;

/// <summary>Why a delivery is not run.</summary>
public enum RejectionKind
{
    Oversize,
    NotWoven,
    BadReplyTo,
    OtherBuild,
    UnknownStage,
    OtherGroup,
    Undecodable,
}

/// <summary>What <see cref="DeliveryCheck"/> decided about one delivery.</summary>
public abstract record DeliveryVerdict
{
    /// <summary>A message this group ran (or dead-lettered) already: a redelivery.</summary>
    public sealed record Duplicate(MessageId Id) : DeliveryVerdict;

    /// <summary>Not to be run: dead-lettered with <paramref name="Reason"/> (one line); reported to <paramref name="ReplyTo"/> when known.</summary>
    public sealed record Rejected(RejectionKind Kind, MessageId? Id, string? ReplyTo, string Reason) : DeliveryVerdict;

    /// <summary>A message of a stage of this group, of this build: its body is to be read as the stage's message type.</summary>
    public sealed record Accepted(StageInfo Stage, MessageId Id, string? ReplyTo) : DeliveryVerdict;
}

/// <summary>
/// The checks a delivery passes before its body is read, in order: a redelivery, the size limit, the properties of a
/// woven program's message (each validated before it is used: reply-to becomes a routing key, so it must be a control
/// queue of this program), the build, a stage of this group. The type a body is read as comes from that stage,
/// never from the wire.
/// </summary>
public sealed class DeliveryCheck(WovenApp app, GroupInfo group, RecentIds recent, int maxMessageBytes)
{
    // How much of a header value a reason quotes.
    const int QuotedChars = 80;

    public DeliveryVerdict Check(IReadOnlyBasicProperties properties, int bodyLength)
    {
        var idText = properties.MessageId;
        var stageName = properties.Type;
        var build = properties.AppId;
        var rawReplyTo = properties.ReplyTo;
        var replyTo = ValidReplyTo(rawReplyTo);
        var hasId = MessageId.TryParse(idText, out var id);
        MessageId? knownId = hasId ? id : null;

        if (hasId && recent.Contains(id)) return new DeliveryVerdict.Duplicate(id);
        if (bodyLength > maxMessageBytes)
            return new DeliveryVerdict.Rejected(RejectionKind.Oversize, knownId, replyTo,
                $"message of {bodyLength} bytes, over the limit of {maxMessageBytes} bytes (Weaving:MaxMessageBytes)");
        if (!hasId || stageName is null || build is null)
            return new DeliveryVerdict.Rejected(RejectionKind.NotWoven, knownId, null,
                "missing or malformed message-id, type or app-id property: not a message of a woven program");
        if (rawReplyTo is not null && replyTo is null)
            return new DeliveryVerdict.Rejected(RejectionKind.BadReplyTo, id, null,
                $"reply-to {Quote(rawReplyTo)} is not a control queue of {app.Name} ({QueueNames.SourceRunPattern(app)})");
        if (build != app.BuildHash)
            return new DeliveryVerdict.Rejected(RejectionKind.OtherBuild, id, replyTo,
                $"message of build {Printable(build)}, but this host runs build {app.BuildHash} of {app.Name}");
        var stage = app.FindStage(stageName);
        // A checkpoint is not a message: it is never run.
        if (stage is null || stage.Kind == StageKind.Checkpoint)
            return new DeliveryVerdict.Rejected(RejectionKind.UnknownStage, id, replyTo, $"{app.Name} has no stage {Printable(stageName)}");
        if (stage.Group != group)
            return new DeliveryVerdict.Rejected(RejectionKind.OtherGroup, id, replyTo,
                $"stage {stageName} belongs to group {stage.Group.Name}, not {group.Name}");
        return new DeliveryVerdict.Accepted(stage, id, replyTo);
    }

    /// <summary>The run a delivery reports to: its reply-to when that is a control queue of this program, else null.</summary>
    public string? ReplyToOf(IReadOnlyBasicProperties properties) => ValidReplyTo(properties.ReplyTo);

    /// <summary>An accepted message was read: from now on, a delivery of it again is a duplicate.</summary>
    public void Ran(MessageId id) => recent.Add(id);

    string? ValidReplyTo(string? replyTo) => replyTo is not null && QueueNames.IsSourceRun(app, replyTo) ? replyTo : null;

    /// <summary>A header value as a reason may quote it: on one line, cut, with its length when cut.</summary>
    public static string Quote(string value) => $"'{Printable(value)}'";

    /// <summary>A header value as a log line may show it: control characters escaped, cut, with its length when cut.</summary>
    public static string Printable(string value)
    {
        var text = new StringBuilder();
        foreach (var c in value.Length > QuotedChars ? value.AsSpan(0, QuotedChars) : value)
            text.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c);
        if (value.Length > QuotedChars) text.Append($"… ({value.Length} characters)");
        return text.ToString();
    }
}
