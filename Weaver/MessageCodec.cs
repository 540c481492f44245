using System.Text.Json;

namespace Weaving;

/// <summary>
/// The body format of a message: UTF-8 JSON of the generated message type's public fields, named as the
/// handler's parameters. The type is never read from the wire: the receiver knows it from the stage.
/// </summary>
public static class MessageCodec
{
    static readonly JsonSerializerOptions options = new()
    {
        IncludeFields = true,
        // records and classes with init-only members round-trip through their constructors or setters
        PreferredObjectCreationHandling = System.Text.Json.Serialization.JsonObjectCreationHandling.Replace,
        MaxDepth = 256,
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
