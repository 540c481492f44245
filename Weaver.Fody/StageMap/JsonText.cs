using System.Globalization;
using System.Text;

namespace Weaving.Fody.StageMap;

/// <summary>A minimal JSON writer (netstandard2.0 has no System.Text.Json): indented, ordinal, escapes per RFC 8259.</summary>
public sealed class JsonText
{
    readonly StringBuilder text = new();
    int depth;
    bool first = true;

    public JsonText BeginObject(string? name = null) => Open(name, '{');
    public JsonText EndObject() => Close('}');
    public JsonText BeginArray(string? name = null) => Open(name, '[');
    public JsonText EndArray() => Close(']');

    public JsonText Property(string name, string? value) { Prefix(name); text.Append(value is null ? "null" : Quote(value)); return this; }
    public JsonText Property(string name, int value) { Prefix(name); text.Append(value.ToString(CultureInfo.InvariantCulture)); return this; }
    public JsonText Property(string name, bool value) { Prefix(name); text.Append(value ? "true" : "false"); return this; }
    public JsonText Value(string value) { Prefix(null); text.Append(Quote(value)); return this; }
    public JsonText Strings(string name, IEnumerable<string> values)
    {
        BeginArray(name);
        foreach (var v in values) Value(v);
        return EndArray();
    }

    JsonText Open(string? name, char bracket)
    {
        Prefix(name);
        text.Append(bracket);
        depth++;
        first = true;
        return this;
    }

    JsonText Close(char bracket)
    {
        depth--;
        if (!first) { text.Append('\n').Append(' ', depth * 2); }
        text.Append(bracket);
        first = false;
        return this;
    }

    void Prefix(string? name)
    {
        if (depth > 0)
        {
            if (!first) text.Append(',');
            text.Append('\n').Append(' ', depth * 2);
        }
        first = false;
        if (name is not null) text.Append(Quote(name)).Append(": ");
    }

    static string Quote(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    public override string ToString() => text.ToString() + "\n";
}
