using System.Text;

namespace Weaving.Host.Consuming;

/// <summary>
/// The console output of a group that keeps checkpoints, held until a checkpoint that reflects it is confirmed (docs/design.md
/// §6.6). While a delivery of such a group runs (<see cref="Begin"/> to <see cref="End"/>), what its handlers write to
/// <see cref="Console.Out"/> on that thread is kept with the delivery instead of printed; it is printed once the broker holds
/// a checkpoint that carries it (<see cref="Print"/>). A crash before that replays the messages, which print it then; a
/// crash after it finds it in the checkpoint, printed or not. Writes of other threads (the source of a <c>Main,all</c>
/// host, the host itself) go straight through.
/// </summary>
public sealed class HeldConsole : TextWriter
{
    static readonly Lock gate = new();
    // The console writer as installed (Console.SetOut wraps it): installed again only if someone replaced it since.
    static TextWriter? installed;

    // On a thread that runs a delivery: held (the buffer made on the first write, most deliveries print nothing).
    [ThreadStatic] static bool holding;
    [ThreadStatic] static StringBuilder? capture;

    readonly TextWriter console;

    HeldConsole(TextWriter console) => this.console = console;

    /// <summary>Puts the holding writer in front of the console, once (<see cref="Console.SetOut"/> makes it synchronized).</summary>
    public static void Install()
    {
        lock (gate)
        {
            if (installed is not null && ReferenceEquals(Console.Out, installed)) return;
            Console.SetOut(new HeldConsole(Console.Out));
            installed = Console.Out;
        }
    }

    /// <summary>From now on, what this thread writes to the console is held.</summary>
    public static void Begin()
    {
        holding = true;
        capture = null;
    }

    /// <summary>What this thread wrote since <see cref="Begin"/>, or null when nothing; this thread's writes go through again.</summary>
    public static string? End()
    {
        var text = capture is { Length: > 0 } held ? held.ToString() : null;
        holding = false;
        capture = null;
        return text;
    }

    /// <summary>Prints held output, through the console's own lock, and flushes it.</summary>
    public static void Print(string text)
    {
        var output = Console.Out;
        output.Write(text);
        output.Flush();
    }

    public override Encoding Encoding => console.Encoding;

    public override IFormatProvider FormatProvider => console.FormatProvider;

    public override void Write(char value)
    {
        if (holding) Held.Append(value);
        else console.Write(value);
    }

    public override void Write(string? value)
    {
        if (holding) Held.Append(value);
        else console.Write(value);
    }

    public override void Write(char[] buffer, int index, int count)
    {
        if (holding) Held.Append(buffer, index, count);
        else console.Write(buffer, index, count);
    }

    public override void Write(ReadOnlySpan<char> buffer)
    {
        if (holding) Held.Append(buffer);
        else console.Write(buffer);
    }

    public override void WriteLine(string? value)
    {
        if (holding) Held.Append(value).Append(CoreNewLine);
        else console.WriteLine(value);
    }

    public override void WriteLine(ReadOnlySpan<char> buffer)
    {
        if (holding) Held.Append(buffer).Append(CoreNewLine);
        else console.WriteLine(buffer);
    }

    public override void Flush()
    {
        if (!holding) console.Flush();
    }

    static StringBuilder Held => capture ??= new StringBuilder();
}
