using System.Buffers;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;

namespace Weaving.Host.Messaging;

/// <summary>
/// A stateful group's checkpoint as the broker keeps it (README-wire.md): the group's state object, written with the
/// message codec, and the ids of the messages it reflects that may still be delivered again; in its headers who wrote it,
/// for which run and build, and how many messages of that run it reflects.
/// <para>
/// It also carries what the messages it reflects printed and reported since the checkpoint before, which the host that
/// wrote it releases once the broker confirmed it (prints the output, publishes the drain reports). A host that goes on from
/// it releases it again if the owner record does not say it was printed (docs/design.md §6.6).
/// </para>
/// <para>Body: <c>{"ids":"&lt;32 hex digits per id&gt;","state":{…},"output":"…","reports":[{"to":"&lt;control queue&gt;","body":"&lt;base64&gt;"}]}</c>,
/// UTF-8 JSON; <c>output</c> and <c>reports</c> may be absent.</para>
/// </summary>
public sealed record CheckpointRecord(string Id, long Sequence, string? Run, long Processed, string Build, string Writer,
    string WriterId, MessageId[] Ids, ReadOnlyMemory<byte> State)
{
    public const string ContentType = "application/vnd.weaving.checkpoint";
    public const string CheckpointHeader = "weaving-checkpoint";
    public const string SequenceHeader = "weaving-checkpoint-sequence";
    /// <summary>On a checkpoint without state: why the state could not be written (a host that takes over says it is lost).</summary>
    public const string UnwritableHeader = "weaving-checkpoint-unwritable";

    /// <summary>Why the state could not be written; the record then holds no state (an empty body's "state" is null).</summary>
    public string? Unwritable { get; init; }

    /// <summary>What the group's handlers printed for the messages since the checkpoint before, not yet printed when it was written.</summary>
    public string? Output { get; init; }

    /// <summary>The drain reports of those messages (<see cref="Drain.DrainReport"/> bodies, by control queue).</summary>
    public IReadOnlyList<HeldReport> Reports { get; init; } = [];

    /// <summary>Something to release: output to print or reports to publish.</summary>
    public bool HoldsRelease => Output is not null || Reports.Count > 0;

    public Outbound ToOutbound(string queue, string group)
    {
        var headers = new Dictionary<string, object?>
        {
            [CheckpointHeader] = Id,
            [SequenceHeader] = Sequence,
            [WireFormat.GroupHeader] = group,
            [WireFormat.BuildHeader] = Build,
            [WireFormat.HostHeader] = Writer,
            [WireFormat.HostIdHeader] = WriterId,
            [WireFormat.ProcessedHeader] = Processed,
        };
        if (Run is not null) headers[WireFormat.RunHeader] = Run;
        if (Unwritable is not null) headers[UnwritableHeader] = Unwritable;
        var body = new ArrayBufferWriter<byte>(State.Length + Ids.Length * 32 + (Output?.Length ?? 0) + Reports.Sum(r => r.Body.Length * 4 / 3 + 64) + 64);
        using (var json = new Utf8JsonWriter(body, new JsonWriterOptions { SkipValidation = true }))
        {
            json.WriteStartObject();
            var hex = new StringBuilder(Ids.Length * 32);
            foreach (var id in Ids) hex.Append(id.ToString());
            json.WriteString("ids", hex.ToString());
            json.WritePropertyName("state");
            if (State.IsEmpty) json.WriteNullValue();
            else json.WriteRawValue(State.Span, skipInputValidation: true);
            if (Output is not null) json.WriteString("output", Output);
            if (Reports.Count > 0)
            {
                json.WriteStartArray("reports");
                foreach (var report in Reports)
                {
                    json.WriteStartObject();
                    json.WriteString("to", report.ControlQueue);
                    json.WriteBase64String("body", report.Body);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
            }
            json.WriteEndObject();
        }
        // Mandatory: the checkpoint queue is declared with the group's; a checkpoint that reaches no queue is not one.
        return new Outbound(queue, WireFormat.ControlProperties(ContentType, headers), body.WrittenMemory.ToArray(), Mandatory: true);
    }

    /// <summary>The record in a message of the checkpoint queue; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static CheckpointRecord Read(IReadOnlyBasicProperties properties, ReadOnlyMemory<byte> body)
    {
        var id = WireFormat.ReadString(properties, CheckpointHeader) ?? throw new FormatException($"no {CheckpointHeader} header");
        var build = WireFormat.ReadString(properties, WireFormat.BuildHeader) ?? throw new FormatException($"no {WireFormat.BuildHeader} header");
        using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 256 });
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("ids", out var idsText) || idsText.ValueKind != JsonValueKind.String
            || !root.TryGetProperty("state", out var state))
            throw new FormatException("the body is not {\"ids\":…,\"state\":…}");
        var hex = idsText.GetString()!;
        if (hex.Length % 32 != 0) throw new FormatException("the ids are not 32 hex digits each");
        var ids = new MessageId[hex.Length / 32];
        for (var i = 0; i < ids.Length; i++)
            if (!MessageId.TryParse(hex.Substring(i * 32, 32), out ids[i])) throw new FormatException($"id {i} is not 32 hex digits");
        string? output = null;
        if (root.TryGetProperty("output", out var outputText))
            output = outputText.ValueKind == JsonValueKind.String ? outputText.GetString() : throw new FormatException("the output is not a string");
        var reports = new List<HeldReport>();
        if (root.TryGetProperty("reports", out var reportList))
        {
            if (reportList.ValueKind != JsonValueKind.Array) throw new FormatException("the reports are not an array");
            foreach (var report in reportList.EnumerateArray())
            {
                if (report.ValueKind != JsonValueKind.Object || !report.TryGetProperty("to", out var to) || to.ValueKind != JsonValueKind.String
                    || !report.TryGetProperty("body", out var reportBody) || !reportBody.TryGetBytesFromBase64(out var bytes))
                    throw new FormatException($"report {reports.Count} is not {{\"to\":…,\"body\":<base64>}}");
                reports.Add(new HeldReport(to.GetString()!, bytes));
            }
        }
        return new CheckpointRecord(id, WireFormat.ReadLong(properties, SequenceHeader) ?? 0, WireFormat.ReadString(properties, WireFormat.RunHeader),
            WireFormat.ReadLong(properties, WireFormat.ProcessedHeader) ?? 0, build,
            WireFormat.ReadString(properties, WireFormat.HostHeader) ?? "another host", WireFormat.ReadString(properties, WireFormat.HostIdHeader) ?? "",
            ids, state.ValueKind == JsonValueKind.Null ? [] : Encoding.UTF8.GetBytes(state.GetRawText()))
        {
            Unwritable = WireFormat.ReadString(properties, UnwritableHeader) ?? (state.ValueKind == JsonValueKind.Null ? "no state in the checkpoint" : null),
            Output = output,
            Reports = reports,
        };
    }
}

/// <summary>A drain report held in a checkpoint: the control queue it goes to, and its body.</summary>
public readonly record struct HeldReport(string ControlQueue, byte[] Body);
