using System.Text;
using RabbitMQ.Client;

namespace Weaving.Host.Messaging;

/// <summary>
/// The headers of a stage message (see README-wire.md). The body is <see cref="MessageCodec"/>'s JSON; its type is
/// never read from the wire but from the stage the header names.
/// </summary>
public static class WireFormat
{
    public const string StageHeader = "weaving-stage";
    public const string IdHeader = "weaving-id";
    public const string BuildHeader = "weaving-build";
    /// <summary>The control queue of the source run the message belongs to: where its completion is reported.</summary>
    public const string ReplyToHeader = "weaving-reply-to";
    public const string DeadReasonHeader = "weaving-dead-reason";
    public const string DeadGroupHeader = "weaving-dead-group";
    public const string TraceParentHeader = "traceparent";
    public const string TraceStateHeader = "tracestate";
    public const string MessageContentType = "application/json";
    public const string ReportContentType = "application/vnd.weaving.drain-report";

    public static BasicProperties StageMessageProperties(string stage, MessageId id, string build, string? replyTo,
        string? traceParent, string? traceState)
    {
        var headers = new Dictionary<string, object?>(6)
        {
            [StageHeader] = stage,
            [IdHeader] = id.ToString(),
            [BuildHeader] = build,
        };
        if (replyTo is not null) headers[ReplyToHeader] = replyTo;
        if (traceParent is not null) headers[TraceParentHeader] = traceParent;
        if (traceState is not null) headers[TraceStateHeader] = traceState;
        return new BasicProperties
        {
            Persistent = true,
            ContentType = MessageContentType,
            MessageId = id.ToString(),
            Headers = headers,
        };
    }

    /// <summary>A header as text: the client reads AMQP long strings back as bytes.</summary>
    public static string? ReadString(IReadOnlyBasicProperties properties, string header) =>
        properties.Headers is { } headers && headers.TryGetValue(header, out var value)
            ? value switch
            {
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                string text => text,
                null => null,
                _ => value.ToString(),
            }
            : null;

    /// <summary>The properties of a dead letter: the original headers, plus why and where it died.</summary>
    public static BasicProperties DeadLetterProperties(IReadOnlyBasicProperties? original, string reason, string group)
    {
        var headers = original?.Headers is { } h ? new Dictionary<string, object?>(h) : new Dictionary<string, object?>();
        headers[DeadReasonHeader] = reason;
        headers[DeadGroupHeader] = group;
        return new BasicProperties
        {
            Persistent = true,
            ContentType = original?.ContentType,
            MessageId = original?.MessageId,
            Headers = headers,
        };
    }
}
