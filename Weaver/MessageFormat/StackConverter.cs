using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Weaving.MessageFormat;

/// <summary>
/// <c>Stack&lt;T&gt;</c> and <c>ImmutableStack&lt;T&gt;</c> as a JSON array from the top down, as they enumerate. System.Text.Json
/// pushes the items in the order it reads them, which would turn the stack upside down; this pushes from the bottom.
/// </summary>
public sealed class StackConverter : JsonConverterFactory
{
    public override bool CanConvert(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() is var definition
                           && (definition == typeof(Stack<>) || definition == typeof(ImmutableStack<>));

    public override JsonConverter CreateConverter(Type type, JsonSerializerOptions options)
    {
        var item = type.GetGenericArguments()[0];
        var converter = type.GetGenericTypeDefinition() == typeof(Stack<>) ? typeof(MutableStack<>) : typeof(Immutable<>);
        return (JsonConverter)Activator.CreateInstance(converter.MakeGenericType(item))!;
    }

    static List<T> TopDown<T>(ref Utf8JsonReader reader, JsonSerializerOptions options) =>
        JsonSerializer.Deserialize<List<T>>(ref reader, options) ?? throw new JsonException("a stack is a JSON array, not null.");

    static void Write<T>(Utf8JsonWriter writer, IEnumerable<T> topDown, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var item in topDown) JsonSerializer.Serialize(writer, item, options);
        writer.WriteEndArray();
    }

    sealed class MutableStack<T> : JsonConverter<Stack<T>>
    {
        public override void Write(Utf8JsonWriter writer, Stack<T> value, JsonSerializerOptions options) => Write<T>(writer, value, options);

        public override Stack<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var items = TopDown<T>(ref reader, options);
            items.Reverse();
            return new Stack<T>(items);
        }
    }

    sealed class Immutable<T> : JsonConverter<ImmutableStack<T>>
    {
        public override void Write(Utf8JsonWriter writer, ImmutableStack<T> value, JsonSerializerOptions options) => Write<T>(writer, value, options);

        public override ImmutableStack<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var items = TopDown<T>(ref reader, options);
            items.Reverse();
            return ImmutableStack.CreateRange(items);
        }
    }
}
