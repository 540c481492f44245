using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Weaving.MessageFormat;

/// <summary>
/// <c>ImmutableArray&lt;T&gt;</c> as a JSON array, and its default (uninitialised) value as null: System.Text.Json throws
/// on the default value, which a program may pass on and test with <c>IsDefault</c>.
/// </summary>
public sealed class DefaultImmutableArrayConverter : JsonConverterFactory
{
    public override bool CanConvert(Type type) => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ImmutableArray<>);

    public override JsonConverter CreateConverter(Type type, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(Converter<>).MakeGenericType(type.GetGenericArguments()[0]))!;

    sealed class Converter<T> : JsonConverter<ImmutableArray<T>>
    {
        public override bool HandleNull => true;

        public override void Write(Utf8JsonWriter writer, ImmutableArray<T> value, JsonSerializerOptions options)
        {
            if (value.IsDefault)
            {
                writer.WriteNullValue();
                return;
            }
            writer.WriteStartArray();
            foreach (var item in value) JsonSerializer.Serialize(writer, item, options);
            writer.WriteEndArray();
        }

        public override ImmutableArray<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null
                ? default
                : ImmutableArray.CreateRange(JsonSerializer.Deserialize<List<T>>(ref reader, options)!);
    }
}
