using System.Collections.Immutable;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Weaving.MessageFormat;

/// <summary>
/// Sets and dictionaries, written as System.Text.Json writes them (an array; an object keyed by the keys), but only when
/// they use the default comparer: the receiver recreates them with it, and a set made case-insensitive or a sorted set
/// made descending would match or order its items differently there. Any other comparer fails the post, naming the
/// collection and the comparer, rather than deliver a collection that behaves differently.
/// </summary>
public sealed class ComparerCheckedCollectionConverter : JsonConverterFactory
{
    static readonly Dictionary<Type, string> factories = new()
    {
        [typeof(HashSet<>)] = nameof(HashSetOf), [typeof(SortedSet<>)] = nameof(SortedSetOf),
        [typeof(ImmutableHashSet<>)] = nameof(ImmutableHashSetOf), [typeof(ImmutableSortedSet<>)] = nameof(ImmutableSortedSetOf),
        [typeof(Dictionary<,>)] = nameof(DictionaryOf), [typeof(SortedDictionary<,>)] = nameof(SortedDictionaryOf),
        [typeof(SortedList<,>)] = nameof(SortedListOf), [typeof(ImmutableDictionary<,>)] = nameof(ImmutableDictionaryOf),
        [typeof(ImmutableSortedDictionary<,>)] = nameof(ImmutableSortedDictionaryOf),
    };

    public override bool CanConvert(Type type) => type.IsGenericType && factories.ContainsKey(type.GetGenericTypeDefinition());

    public override JsonConverter CreateConverter(Type type, JsonSerializerOptions options) =>
        (JsonConverter)typeof(ComparerCheckedCollectionConverter)
            .GetMethod(factories[type.GetGenericTypeDefinition()], BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(type.GetGenericArguments()).Invoke(null, null)!;

    static JsonConverter HashSetOf<T>() =>
        new Set<HashSet<T>, T>(s => [s.Comparer], [EqualityComparer<T>.Default], items => new HashSet<T>(items));
    static JsonConverter SortedSetOf<T>() =>
        new Set<SortedSet<T>, T>(s => [s.Comparer], [Comparer<T>.Default], items => new SortedSet<T>(items));
    static JsonConverter ImmutableHashSetOf<T>() =>
        new Set<ImmutableHashSet<T>, T>(s => [s.KeyComparer], [EqualityComparer<T>.Default], ImmutableHashSet.CreateRange);
    static JsonConverter ImmutableSortedSetOf<T>() =>
        new Set<ImmutableSortedSet<T>, T>(s => [s.KeyComparer], [Comparer<T>.Default], ImmutableSortedSet.CreateRange);
    static JsonConverter DictionaryOf<TKey, TValue>() where TKey : notnull =>
        new Map<Dictionary<TKey, TValue>, TKey, TValue>(d => [d.Comparer], [EqualityComparer<TKey>.Default], pairs => new Dictionary<TKey, TValue>(pairs));
    static JsonConverter SortedDictionaryOf<TKey, TValue>() where TKey : notnull =>
        new Map<SortedDictionary<TKey, TValue>, TKey, TValue>(d => [d.Comparer], [Comparer<TKey>.Default], pairs =>
        {
            var map = new SortedDictionary<TKey, TValue>();
            foreach (var (key, value) in pairs) map.Add(key, value);
            return map;
        });
    static JsonConverter SortedListOf<TKey, TValue>() where TKey : notnull =>
        new Map<SortedList<TKey, TValue>, TKey, TValue>(d => [d.Comparer], [Comparer<TKey>.Default], pairs =>
        {
            var list = new SortedList<TKey, TValue>();
            foreach (var (key, value) in pairs) list.Add(key, value);
            return list;
        });
    static JsonConverter ImmutableDictionaryOf<TKey, TValue>() where TKey : notnull =>
        new Map<ImmutableDictionary<TKey, TValue>, TKey, TValue>(d => [d.KeyComparer, d.ValueComparer],
            [EqualityComparer<TKey>.Default, EqualityComparer<TValue>.Default], ImmutableDictionary.CreateRange);
    static JsonConverter ImmutableSortedDictionaryOf<TKey, TValue>() where TKey : notnull =>
        new Map<ImmutableSortedDictionary<TKey, TValue>, TKey, TValue>(d => [d.KeyComparer, d.ValueComparer],
            [Comparer<TKey>.Default, EqualityComparer<TValue>.Default], ImmutableSortedDictionary.CreateRange);

    static void RequireDefaults(Type collection, object[] comparers, object[] defaults)
    {
        for (var i = 0; i < comparers.Length; i++)
        {
            // string's default equality is ordinal: StringComparer.Ordinal is the same comparer under another name
            if (Equals(comparers[i], defaults[i]) || defaults[i] is EqualityComparer<string> && ReferenceEquals(comparers[i], StringComparer.Ordinal))
                continue;
            throw new NotSupportedException(
                $"{Name(collection)} was made with the comparer {comparers[i].GetType().Name}; a message recreates it with the default " +
                "comparer, which may match or order its items differently. Pass its items (an array or a List) and make the collection in the handler.");
        }
    }

    static string Name(Type type) =>
        type.IsGenericType ? type.Name[..type.Name.IndexOf('`')] + "<" + string.Join(", ", type.GetGenericArguments().Select(Name)) + ">" : type.Name;

    sealed class Set<TSet, T>(Func<TSet, object[]> comparers, object[] defaults, Func<IEnumerable<T>, TSet> create) : JsonConverter<TSet>
        where TSet : IEnumerable<T>
    {
        public override void Write(Utf8JsonWriter writer, TSet value, JsonSerializerOptions options)
        {
            RequireDefaults(typeof(TSet), comparers(value), defaults);
            writer.WriteStartArray();
            foreach (var item in value) JsonSerializer.Serialize(writer, item, options);
            writer.WriteEndArray();
        }

        public override TSet Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            // added in the order they were sent: a hash set then enumerates as the sender's did
            create(JsonSerializer.Deserialize<List<T>>(ref reader, options) ?? throw new JsonException($"{Name(typeof(TSet))} is an array."));
    }

    sealed class Map<TMap, TKey, TValue>(Func<TMap, object[]> comparers, object[] defaults, Func<IEnumerable<KeyValuePair<TKey, TValue>>, TMap> create)
        : JsonConverter<TMap> where TMap : IEnumerable<KeyValuePair<TKey, TValue>> where TKey : notnull
    {
        public override void Write(Utf8JsonWriter writer, TMap value, JsonSerializerOptions options)
        {
            RequireDefaults(typeof(TMap), comparers(value), defaults);
            var keys = (JsonConverter<TKey>)options.GetConverter(typeof(TKey));
            writer.WriteStartObject();
            foreach (var (key, item) in value)
            {
                keys.WriteAsPropertyName(writer, key, options);
                JsonSerializer.Serialize(writer, item, options);
            }
            writer.WriteEndObject();
        }

        public override TMap Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException($"{Name(typeof(TMap))} is an object.");
            var keys = (JsonConverter<TKey>)options.GetConverter(typeof(TKey));
            var pairs = new List<KeyValuePair<TKey, TValue>>();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var key = keys.ReadAsPropertyName(ref reader, typeof(TKey), options);
                reader.Read();
                pairs.Add(new(key, JsonSerializer.Deserialize<TValue>(ref reader, options)!));
            }
            return create(pairs);
        }
    }
}
