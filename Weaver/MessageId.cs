using System.Globalization;

namespace Weaving;

/// <summary>
/// A message's identity. Roots come from the source run; a child's id is derived from its parent's id and the
/// index of the post within the parent's handler, so a redelivered parent produces children with the same ids.
/// </summary>
public readonly record struct MessageId(ulong High, ulong Low)
{
    /// <summary>The id of the <paramref name="sequence"/>-th post of a source run.</summary>
    public static MessageId Root(ulong run, ulong sequence) => new(Mix(run ^ 0x5157_4541_5649_4E47), Mix(run + Mix(sequence)));

    /// <summary>The id of the <paramref name="index"/>-th post made while handling this message.</summary>
    public MessageId Child(int index)
    {
        var h = Mix(High ^ Mix(Low + (ulong)index));
        var l = Mix(Low ^ Mix(High + 0x9E37_79B9_7F4A_7C15UL * (ulong)(index + 1)));
        return new(h, l);
    }

    public static MessageId NewRun(out ulong run)
    {
        // A random number from the system's generator, through Guid: Random.Shared would load and seed its own
        // generator's types at every woven program's start for this one number.
        Span<byte> random = stackalloc byte[16];
        Guid.NewGuid().TryWriteBytes(random);
        run = BitConverter.ToUInt64(random) ^ BitConverter.ToUInt64(random[8..]) ^ (ulong)DateTime.UtcNow.Ticks;
        return Root(run, 0);
    }

    static ulong Mix(ulong z)
    {
        // splitmix64 finalizer: cheap, well distributed, deterministic
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }

    public override string ToString() => High.ToString("x16", CultureInfo.InvariantCulture) + Low.ToString("x16", CultureInfo.InvariantCulture);

    public static MessageId Parse(string text)
    {
        if (!TryParse(text, out var id))
            throw new FormatException($"'{text}' is not a message id (32 hex digits).");
        return id;
    }

    public static bool TryParse(string? text, out MessageId id)
    {
        id = default;
        if (text is null || text.Length != 32) return false;
        if (!ulong.TryParse(text.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var h)) return false;
        if (!ulong.TryParse(text.AsSpan(16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var l)) return false;
        id = new(h, l);
        return true;
    }
}
