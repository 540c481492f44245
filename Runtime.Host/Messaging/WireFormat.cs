using System.Text;
using RabbitMQ.Client;

namespace Weaving.Host.Messaging;

/// <summary>
/// The properties and headers of the messages (see README-wire.md). A stage message says what it is in the AMQP basic
/// properties (<c>message-id</c>, <c>type</c> = stage, <c>app-id</c> = build, <c>reply-to</c> = the run); its body is
/// <see cref="MessageCodec"/>'s JSON, whose type is never read from the wire but from the stage <c>type</c> names.
/// </summary>
public static class WireFormat
{
    /// <summary>On results sent back to a source, and on checkpoints: the id of the request or of the checkpoint.</summary>
    public const string IdHeader = "weaving-id";
    /// <summary>On a checkpoint: the build that wrote it.</summary>
    public const string BuildHeader = "weaving-build";
    public const string DeadReasonHeader = "weaving-dead-reason";
    public const string DeadGroupHeader = "weaving-dead-group";
    /// <summary>On a dead letter of a handler that threw: the exception's type, its message, and how many times it ran.</summary>
    public const string ExceptionTypeHeader = "weaving-exception-type";
    public const string ExceptionMessageHeader = "weaving-exception-message";
    /// <summary>The exception as .NET prints it, stack trace included, cut at <see cref="MaxExceptionChars"/>.</summary>
    public const string ExceptionHeader = "weaving-exception";
    public const string AttemptsHeader = "weaving-attempts";
    public const int MaxExceptionChars = 8192;
    /// <summary>On an owner record and a takeover notice: the host (see <see cref="HostInstance"/>).</summary>
    public const string HostHeader = "weaving-host";
    public const string HostIdHeader = "weaving-host-id";
    public const string GroupHeader = "weaving-group";
    /// <summary>On a takeover notice: the host that was the active consumer before.</summary>
    public const string PreviousHostHeader = "weaving-previous-host";
    /// <summary>On an owner record: the run (control queue) of the last message the host processed, and how many of that
    /// run it processed; on a takeover notice, the same of the host taken over from.</summary>
    public const string RunHeader = "weaving-run";
    public const string ProcessedHeader = "weaving-processed";
    /// <summary>On an owner record: the last checkpoint whose held console output its writer printed (docs/design.md §6.6).</summary>
    public const string ReleasedHeader = "weaving-released";
    public const string TraceParentHeader = "traceparent";
    public const string TraceStateHeader = "tracestate";
    public const string MessageContentType = "application/json";
    public const string ReportContentType = "application/vnd.weaving.drain-report";
    public const string TakeoverContentType = "application/vnd.weaving.takeover";
    /// <summary>A group's state, captured for the source after its work drained (docs/design.md §6); weaving-id names the request.</summary>
    public const string ResultsContentType = "application/vnd.weaving.results";

    public static BasicProperties StageMessageProperties(string stage, MessageId id, string build, string? replyTo,
        string? traceParent, string? traceState)
    {
        // The AMQP basic properties, not headers: a few bytes each in the content header, where a header table costs the
        // broker and both clients a table to write and parse per message (README-wire.md, "Stage messages").
        Dictionary<string, object?>? headers = null;
        if (traceParent is not null)
        {
            headers = new Dictionary<string, object?>(2) { [TraceParentHeader] = traceParent };
            if (traceState is not null) headers[TraceStateHeader] = traceState;
        }
        return new BasicProperties
        {
            Persistent = true,
            ContentType = MessageContentType,
            MessageId = id.ToString(),
            Type = stage,
            AppId = build,
            ReplyTo = replyTo,
            Headers = headers,
        };
    }

    /// <summary>Reports, owner records and notices: persistent, so that a broker restart loses none of them.</summary>
    public static BasicProperties ControlProperties(string contentType, Dictionary<string, object?>? headers = null) =>
        new() { Persistent = true, ContentType = contentType, Headers = headers };

    /// <summary>A header as a number, or null.</summary>
    public static long? ReadLong(IReadOnlyBasicProperties properties, string header) =>
        properties.Headers is { } headers && headers.TryGetValue(header, out var value)
            ? value switch
            {
                long l => l,
                int i => i,
                byte[] or string => long.TryParse(ReadString(properties, header), out var parsed) ? parsed : null,
                _ => null,
            }
            : null;

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

    /// <summary><paramref name="text"/> with its line breaks as spaces: a reason is one line.</summary>
    public static string OneLine(string text) => text.ReplaceLineEndings(" ");

    /// <summary>The properties of a dead letter: the original headers, plus why and where it died.</summary>
    public static BasicProperties DeadLetterProperties(IReadOnlyBasicProperties? original, string reason, string group,
        Exception? exception = null, int attempts = 0)
    {
        var headers = original?.Headers is { } h ? new Dictionary<string, object?>(h) : new Dictionary<string, object?>();
        headers[DeadReasonHeader] = OneLine(reason);
        headers[DeadGroupHeader] = group;
        if (exception is not null)
        {
            headers[ExceptionTypeHeader] = exception.GetType().FullName;
            headers[ExceptionMessageHeader] = exception.Message;
            var text = exception.ToString();
            headers[ExceptionHeader] = text.Length > MaxExceptionChars ? text[..MaxExceptionChars] + "…" : text;
            headers[AttemptsHeader] = attempts;
        }
        return new BasicProperties
        {
            Persistent = true,
            ContentType = original?.ContentType,
            MessageId = original?.MessageId,
            Type = original?.Type,
            AppId = original?.AppId,
            ReplyTo = original?.ReplyTo,
            Headers = headers,
        };
    }
}
