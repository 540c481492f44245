using System.Text.Json;
using System.Text.Json.Serialization;

namespace Weaving.MessageFormat;

/// <summary>
/// Multi-dimensional arrays (<c>int[,]</c>), which System.Text.Json does not support, as
/// <c>{"lengths":[2,3],"items":[…]}</c> with the items in row-major order; <c>"lowerBounds"</c> is written only when
/// one is not zero. Lengths travel apart from the items so that an empty dimension keeps the others' lengths.
/// </summary>
public sealed class MultiDimensionalArrayConverter : JsonConverterFactory
{
    public override bool CanConvert(Type type) => type.IsArray && !type.IsSZArray;

    public override JsonConverter CreateConverter(Type type, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(Converter<,>).MakeGenericType(type, type.GetElementType()!))!;

    sealed class Converter<TArray, T> : JsonConverter<TArray> where TArray : class
    {
        static readonly Type arrayType = typeof(TArray);

        public override void Write(Utf8JsonWriter writer, TArray array, JsonSerializerOptions options)
        {
            var value = (Array)(object)array;
            writer.WriteStartObject();
            writer.WriteStartArray("lengths");
            for (var d = 0; d < value.Rank; d++) writer.WriteNumberValue(value.GetLength(d));
            writer.WriteEndArray();
            if (Enumerable.Range(0, value.Rank).Any(d => value.GetLowerBound(d) != 0))
            {
                writer.WriteStartArray("lowerBounds");
                for (var d = 0; d < value.Rank; d++) writer.WriteNumberValue(value.GetLowerBound(d));
                writer.WriteEndArray();
            }
            writer.WritePropertyName("items");
            writer.WriteStartArray();
            foreach (T item in value) JsonSerializer.Serialize(writer, item, options); // row-major, as foreach walks it
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        public override TArray Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException($"a {arrayType.Name} is a JSON object with lengths and items.");
            int[]? lengths = null, lowerBounds = null;
            List<T>? items = null;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var property = reader.GetString();
                reader.Read();
                switch (property)
                {
                    case "lengths": lengths = JsonSerializer.Deserialize<int[]>(ref reader, options); break;
                    case "lowerBounds": lowerBounds = JsonSerializer.Deserialize<int[]>(ref reader, options); break;
                    case "items": items = JsonSerializer.Deserialize<List<T>>(ref reader, options); break;
                    default: throw new JsonException($"a {arrayType.Name} has no property '{property}'.");
                }
            }
            var rank = arrayType.GetArrayRank();
            if (lengths is null || items is null || lengths.Length != rank || lowerBounds is not null && lowerBounds.Length != rank)
                throw new JsonException($"a {arrayType.Name} needs {rank} lengths and its items.");
            var array = Array.CreateInstance(typeof(T), lengths, lowerBounds ?? new int[rank]);
            if (items.Count != array.Length) throw new JsonException($"a {arrayType.Name} of lengths [{string.Join(",", lengths)}] has {array.Length} items, not {items.Count}.");
            var index = (int[])(lowerBounds ?? new int[rank]).Clone();
            foreach (var item in items)
            {
                array.SetValue(item, index);
                for (var d = rank - 1; d >= 0; d--) // the next index in row-major order
                {
                    if (++index[d] < array.GetLowerBound(d) + lengths[d]) break;
                    index[d] = array.GetLowerBound(d);
                }
            }
            return (TArray)(object)array;
        }
    }
}
