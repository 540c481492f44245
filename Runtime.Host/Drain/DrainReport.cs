using System.Buffers.Binary;

namespace Weaving.Host.Drain;

/// <summary>
/// One finished message as a host reports it to the source: its id, how many handlers failed while running it, and the
/// ids of the messages it sent to other groups.
/// </summary>
public readonly record struct Completion(MessageId Id, int Failures, MessageId[] Sent);

/// <summary>
/// The body of a drain report: completions one after another, little endian, 24 + 16 × sent bytes each:
/// <c>id (u64 high, u64 low) | failures u32 | sent count u32 | sent ids (u64 high, u64 low)…</c>.
/// </summary>
public static class DrainReport
{
    const int IdSize = 16;
    const int HeaderSize = IdSize + 8;

    public static int SizeOf(in Completion completion) => HeaderSize + IdSize * completion.Sent.Length;

    public static byte[] Encode(IReadOnlyList<Completion> completions)
    {
        var size = 0;
        foreach (var c in completions) size += SizeOf(c);
        var buffer = new byte[size];
        var span = buffer.AsSpan();
        foreach (var c in completions)
        {
            WriteId(span, c.Id);
            BinaryPrimitives.WriteUInt32LittleEndian(span[16..], (uint)c.Failures);
            BinaryPrimitives.WriteUInt32LittleEndian(span[20..], (uint)c.Sent.Length);
            span = span[HeaderSize..];
            foreach (var sent in c.Sent)
            {
                WriteId(span, sent);
                span = span[IdSize..];
            }
        }
        return buffer;
    }

    /// <summary>The completions in <paramref name="body"/>; throws <see cref="FormatException"/> when it is cut short.</summary>
    public static List<Completion> Decode(ReadOnlySpan<byte> body)
    {
        var completions = new List<Completion>();
        while (!body.IsEmpty)
        {
            if (body.Length < HeaderSize) throw new FormatException("drain report cut short in a completion header.");
            var id = ReadId(body);
            var failures = (int)BinaryPrimitives.ReadUInt32LittleEndian(body[16..]);
            var count = BinaryPrimitives.ReadUInt32LittleEndian(body[20..]);
            body = body[HeaderSize..];
            if ((ulong)body.Length < (ulong)count * IdSize) throw new FormatException("drain report cut short in a list of sent ids.");
            var sent = new MessageId[count];
            for (var i = 0; i < sent.Length; i++)
            {
                sent[i] = ReadId(body);
                body = body[IdSize..];
            }
            completions.Add(new Completion(id, failures, sent));
        }
        return completions;
    }

    static void WriteId(Span<byte> span, MessageId id)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(span, id.High);
        BinaryPrimitives.WriteUInt64LittleEndian(span[8..], id.Low);
    }

    static MessageId ReadId(ReadOnlySpan<byte> span) =>
        new(BinaryPrimitives.ReadUInt64LittleEndian(span), BinaryPrimitives.ReadUInt64LittleEndian(span[8..]));
}
