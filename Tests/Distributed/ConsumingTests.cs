using System.Text;
using RabbitMQ.Client;
using Weaving.Host;
using Weaving.Host.Consuming;
using Weaving.Host.Drain;
using Weaving.Host.Messaging;
using Weaving.Host.Startup;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Distributed;

/// <summary>
/// The group consumer's parts on their own, without a broker: what a delivery's headers decide, how many deliveries a
/// byte budget allows, how drain reports are cut, which names a report may be sent to.
/// </summary>
[TestClass]
public sealed class ConsumingTests
{
    static WovenApp App => HandWovenApp.App;
    static GroupInfo Parse => App.FindStage("OnLine")!.Group;
    const string Id = "0123456789abcdef0123456789abcdef";

    static DeliveryCheck Check(RecentIds? recent = null) => new(App, Parse, recent ?? new RecentIds(16), maxMessageBytes: 1000);

    static BasicProperties Properties(string stage = "OnLine", string id = Id, string? build = null, string? replyTo = null) =>
        new() { MessageId = id, Type = stage, AppId = build ?? App.BuildHash, ReplyTo = replyTo };

    static string Run => HandWovenApp.Run;

    [TestMethod]
    public void Only_a_control_queue_of_the_program_is_a_run_a_report_may_be_sent_to()
    {
        Assert.IsTrue(QueueNames.IsSourceRun(App, Run));
        Assert.IsFalse(QueueNames.IsSourceRun(App, Run + "0"), "17 digits");
        Assert.IsFalse(QueueNames.IsSourceRun(App, Run.ToUpperInvariant()), "upper case");
        Assert.IsFalse(QueueNames.IsSourceRun(App, QueueNames.ForGroup(App, Parse)), "a work queue");
        Assert.IsFalse(QueueNames.IsSourceRun(App, "weaving.Other.source.0123456789abcdef"), "another program's");
        Assert.IsFalse(QueueNames.IsSourceRun(App, Run[..^16] + new string('a', 300)), "longer than a queue name can be");
    }

    [TestMethod]
    public void A_message_of_a_stage_of_the_group_with_its_run_is_accepted()
    {
        var verdict = Check().Check(Properties(replyTo: Run), bodyLength: 10);
        var accepted = verdict as DeliveryVerdict.Accepted;
        Assert.IsNotNull(accepted, $"{verdict}");
        Assert.AreEqual("OnLine", accepted.Stage.Name);
        Assert.AreEqual(Run, accepted.ReplyTo);
    }

    [TestMethod]
    public void A_reply_to_that_is_not_a_run_of_the_program_is_rejected_and_never_used_as_a_routing_key()
    {
        var bad = new string('q', 300);
        var verdict = Check().Check(Properties(replyTo: bad), bodyLength: 10);
        var rejected = verdict as DeliveryVerdict.Rejected;
        Assert.IsNotNull(rejected, $"{verdict}");
        Assert.AreEqual(RejectionKind.BadReplyTo, rejected.Kind);
        Assert.IsNull(rejected.ReplyTo, "nothing is reported to it");
        StringAssert.Contains(rejected.Reason, "(300 characters)");

        // Checked before anything that reports: an oversize body with a bad reply-to is reported nowhere.
        var oversize = Check().Check(Properties(replyTo: bad), bodyLength: 5000);
        var big = oversize as DeliveryVerdict.Rejected;
        Assert.IsNotNull(big, $"{oversize}");
        Assert.AreEqual(RejectionKind.Oversize, big.Kind);
        Assert.IsNull(big.ReplyTo);
    }

    [TestMethod]
    public void A_stage_type_with_a_line_break_is_rejected_with_a_reason_on_one_line()
    {
        var verdict = Check().Check(Properties(stage: "OnLine\nOnWord"), bodyLength: 10);
        var rejected = verdict as DeliveryVerdict.Rejected;
        Assert.IsNotNull(rejected, $"{verdict}");
        Assert.AreEqual(RejectionKind.UnknownStage, rejected.Kind);
        Assert.IsFalse(rejected.Reason.Contains('\n'), rejected.Reason);
        StringAssert.Contains(rejected.Reason, "OnLine\\u000aOnWord");
    }

    [TestMethod]
    public void Each_check_names_what_failed()
    {
        var other = App.FindStage("OnWord")!;
        Assert.AreEqual(RejectionKind.NotWoven, Kind(Check().Check(Properties(id: "not-an-id"), 10)));
        Assert.AreEqual(RejectionKind.OtherBuild, Kind(Check().Check(Properties(build: "other"), 10)));
        Assert.AreEqual(RejectionKind.UnknownStage, Kind(Check().Check(Properties(stage: "OnNothing"), 10)));
        Assert.AreEqual(other.Group == Parse ? null : RejectionKind.OtherGroup, Kind(Check().Check(Properties(stage: "OnWord"), 10)));
    }

    [TestMethod]
    public void A_stage_message_names_itself_in_the_basic_properties_and_carries_no_header_table_without_a_trace()
    {
        var id = MessageId.Root(7, 1);
        var properties = WireFormat.StageMessageProperties("OnLine", id, App.BuildHash, Run, traceParent: null, traceState: null);
        Assert.IsNull(properties.Headers, "no header table to write and parse per message");
        Assert.AreEqual((id.ToString(), "OnLine", App.BuildHash, Run), (properties.MessageId, properties.Type, properties.AppId, properties.ReplyTo));
        Assert.IsInstanceOfType<DeliveryVerdict.Accepted>(Check().Check(properties, 10), "what a host sends, a host accepts");

        var traced = WireFormat.StageMessageProperties("OnLine", id, App.BuildHash, Run, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", null);
        Assert.AreEqual(1, traced.Headers?.Count, "only the trace context travels as a header");
    }

    [TestMethod]
    public void A_stage_name_the_type_property_cannot_hold_is_refused_at_start_naming_it()
    {
        static WovenApp AppWithStage(string assemblyName, string stage)
        {
            var assembly = System.Reflection.Emit.AssemblyBuilder.DefineDynamicAssembly(new System.Reflection.AssemblyName(assemblyName),
                System.Reflection.Emit.AssemblyBuilderAccess.Run);
            var description = new Weaving.Woven.WovenAppDescription("build", WovenApp.CurrentRuntimeVersion);
            description.Group("Group", 0, ownsState: false);
            description.Stage(stage, "Group", assemblyName + ".Message", copyArguments: false, [], StageKind.Handler, []);
            return WovenApp.Load(assembly, description);
        }

        var tooLong = "On" + new string('é', 127); // 256 bytes of UTF-8 in 129 characters
        StringAssert.Contains(WovenAppLoader.NameTooLong(AppWithStage("LongStageName", tooLong)), "named in 256 bytes of UTF-8");
        Assert.IsNull(WovenAppLoader.NameTooLong(AppWithStage("FittingStageName", "On" + new string('x', 253))), "255 bytes fit");
    }

    [TestMethod]
    public void A_message_named_only_in_headers_as_before_is_not_taken_for_a_woven_one()
    {
        var headersOnly = new BasicProperties
        {
            Headers = new Dictionary<string, object?>
            {
                ["weaving-stage"] = Encoding.UTF8.GetBytes("OnLine"),
                ["weaving-id"] = Encoding.UTF8.GetBytes(Id),
                ["weaving-build"] = Encoding.UTF8.GetBytes(App.BuildHash),
            },
        };
        var rejected = Check().Check(headersOnly, 10) as DeliveryVerdict.Rejected;
        Assert.AreEqual(RejectionKind.NotWoven, rejected?.Kind);
        StringAssert.Contains(rejected!.Reason, "message-id, type or app-id property");
    }

    static RejectionKind? Kind(DeliveryVerdict verdict) => (verdict as DeliveryVerdict.Rejected)?.Kind;

    [TestMethod]
    public void A_message_that_ran_is_a_duplicate_when_it_comes_again()
    {
        var check = Check();
        Assert.IsInstanceOfType<DeliveryVerdict.Accepted>(check.Check(Properties(), 10));
        check.Ran(MessageId.TryParse(Id, out var id) ? id : default);
        Assert.IsInstanceOfType<DeliveryVerdict.Duplicate>(check.Check(Properties(), 10));
    }

    [TestMethod]
    public void The_byte_budget_cuts_the_prefetch_to_what_fits()
    {
        DeliveryWindow For(long held, int max = 16 << 20, ushort prefetch = 256) =>
            DeliveryWindow.For(new WeavingOptions { MaxHeldBytes = held, MaxMessageBytes = max, Prefetch = prefetch });

        Assert.AreEqual(125, For(4L << 30).Prefetch, "the defaults: (4 GiB - 96 MiB) / 32 MiB");
        Assert.AreEqual(1, For(128 << 20).Prefetch, "one 32 MiB buffer and the reserve");
        Assert.AreEqual(1, For(1).Prefetch, "never less than one");
        Assert.AreEqual(256, For(4L << 30, max: 1 << 20).Prefetch, "small messages: the count decides");
    }

    [TestMethod]
    public void Reports_are_cut_per_run_at_the_chunk_size_and_a_completion_is_never_split()
    {
        var root = MessageId.Root(1, 0);
        var small = Enumerable.Range(0, 10).Select(i => (Run, (Completion?)new Completion(root.Child(i), 0, []))).ToList();
        var big = new Completion(root.Child(99), 0, Enumerable.Range(0, 1000).Select(root.Child).ToArray());
        var otherRun = QueueNames.ForSourceRun(App, "fedcba9876543210");
        List<(string?, Completion?)> finished = [.. small, (Run, big), (otherRun, new Completion(root, 1, [])), (null, new Completion(root, 0, []))];

        var reports = ReportChunks.Of(finished, chunkBytes: 100).ToList();

        Assert.AreEqual(1, reports.Count(r => r.ControlQueue == otherRun));
        var toRun = reports.Where(r => r.ControlQueue == Run).Select(r => DrainReport.Decode(r.Body)).ToList();
        Assert.AreEqual(11, toRun.Sum(r => r.Count), "every completion of the run, once; none without a run");
        Assert.IsTrue(toRun.All(r => r.Sum(c => DrainReport.SizeOf(c)) <= 100 || r.Count == 1), "cut at the chunk size");
        Assert.IsTrue(toRun.Any(r => r.Count == 1 && r[0].Sent.Length == 1000), "the big completion whole");
    }
}
