using System.Text.Json;
using System.Text.Json.Serialization;
using Weaving.MessageFormat;

namespace Weaving;

/// <summary>
/// The body format of a message: UTF-8 JSON of the generated message type's public fields, named as the
/// handler's parameters. The type is never read from the wire: the receiver knows it from the stage.
/// Every argument type the weaver lets travel (Weaver.Fody's TypeRules) round-trips exactly, element order included.
/// </summary>
public static class MessageCodec
{
    static readonly JsonSerializerOptions options = new()
    {
        IncludeFields = true,
        // records and classes with init-only members round-trip through their constructors or setters
        PreferredObjectCreationHandling = JsonObjectCreationHandling.Replace,
        // NaN and the infinities are numbers a program may pass on
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        MaxDepth = 256,
        Converters = { new MultiDimensionalArrayConverter(), new StackConverter(), new DefaultImmutableArrayConverter(), new ComparerCheckedCollectionConverter() },
    };

    public static byte[] Serialize(StageMessage message) =>
        JsonSerializer.SerializeToUtf8Bytes(message, message.GetType(), options);

    public static StageMessage Deserialize(Type messageType, ReadOnlySpan<byte> body) =>
        (StageMessage?)JsonSerializer.Deserialize(body, messageType, options)
        ?? throw new JsonException($"the body is JSON null, not a {messageType.Name}.");

    /// <summary>A deep copy, made the way a broker would make it: through the wire format.</summary>
    public static StageMessage Clone(StageMessage message) =>
        Deserialize(message.GetType(), Serialize(message));
}
