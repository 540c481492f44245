using Microsoft.Extensions.Logging;
using Weaving.Execution;
using Weaving.Host.Messaging;

namespace Weaving.Host.Consuming;

/// <summary>
/// Writes a handler's posts to other groups as stage messages: JSON bodies, checked against the size limit, and the
/// headers that carry the run and the trace on.
/// </summary>
public sealed class OutgoingEncoder(WovenApp app, int maxMessageBytes, ILogger logger)
{
    /// <summary>The message for <paramref name="post"/>, or null (logged) when it cannot be sent: a failure of the parent.</summary>
    public Outbound? Encode(in Envelope post, StageInfo parentStage, MessageId parentId, string? replyTo, string? traceParent, string? traceState)
    {
        byte[] body;
        try
        {
            body = MessageCodec.Serialize(post.Message);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Stage {Stage} message {Id}: its post to {Target} ({Child}) cannot be serialized; not sent",
                parentStage.Name, parentId, post.Stage.Name, post.Id);
            return null;
        }
        if (body.Length > maxMessageBytes)
        {
            logger.LogError("Stage {Stage} message {Id}: its post to {Target} ({Child}) is {Size} bytes, over the limit of {Limit} bytes (Weaving:MaxMessageBytes); not sent",
                parentStage.Name, parentId, post.Stage.Name, post.Id, body.Length, maxMessageBytes);
            return null;
        }
        var props = WireFormat.StageMessageProperties(post.Stage.Name, post.Id, app.BuildHash, replyTo, traceParent, traceState);
        return new Outbound(QueueNames.ForGroup(app, post.Stage.Group), props, body, Mandatory: true);
    }
}
