using System.Reflection;
using System.Runtime.Loader;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Runtime;

/// <summary>
/// A woven entry point describes its app in code (<c>&lt;Weaving&gt;Describe</c>, a WovenAppDescription) so that a
/// program started in memory reads no custom attribute; hosts and libraries still read the attributes. The two must say
/// the same thing, and the routes the description stores in the message types must keep working when the entry point
/// runs again in the same process (as a benchmark or a test runs it).
/// </summary>
[TestClass]
public sealed class WovenAppDescriptionTests
{
    [TestMethod]
    [DynamicData(nameof(Fixtures.Differential), typeof(Fixtures))]
    public void The_entry_points_description_declares_the_groups_and_stages_the_attributes_declare(string name)
    {
        var fixture = Fixtures.Get(name);
        var fromAttributes = Describe(LoadApp(fixture, describe: false));
        var fromCode = Describe(LoadApp(fixture, describe: true));

        Assert.AreEqual(fromAttributes, fromCode, $"{name}: the generated description differs from the assembly attributes.");
    }

    [TestMethod]
    public void An_entry_point_run_twice_in_one_process_runs_its_cheap_stages_inline_both_times()
    {
        // The second run's description makes new routes and stores them in the message types; they must lead to the
        // workers of the app the first run started, or every post of the second run would become a message.
        const int events = 1000;
        var fixture = Fixtures.Get("Pipeline3");
        string[] arguments = [events.ToString(), "0"];
        // Statics keep their values from one run to the next, woven as unwoven: the unwoven build runs twice too.
        var unwoven = RunTwice(new FixtureContext(fixture.UnwovenDll).LoadFromAssemblyPath(fixture.UnwovenDll), arguments);
        var context = new FixtureContext(fixture.WovenDll);
        var woven = RunTwice(context.LoadFromAssemblyPath(fixture.WovenDll), arguments);

        Assert.AreEqual(unwoven[0], woven[0], "first run");
        Assert.AreEqual(unwoven[1], woven[1], "second run");
        var transport = WeaverType(context, "Weaving.Pipeline").GetProperty("Transport")!.GetValue(null)!;
        foreach (var group in ((System.Collections.IEnumerable)transport.GetType().GetProperty("Statistics")!.GetValue(transport)!).Cast<object>())
        {
            var messages = (long)group.GetType().GetProperty("Messages")!.GetValue(group)!;
            var inline = (long)group.GetType().GetProperty("RanInline")!.GetValue(group)!;
            Assert.IsTrue(messages >= 2 * events, $"{group}");
            Assert.AreEqual(messages, inline, $"every message of both runs should have run inline: {group}");
        }
    }

    static List<string> RunTwice(Assembly program, string[] arguments)
    {
        var outputs = new List<string>();
        var previous = Console.Out;
        try
        {
            for (var run = 0; run < 2; run++)
            {
                var output = new StringWriter();
                Console.SetOut(output);
                program.EntryPoint!.Invoke(null, [arguments]);
                outputs.Add(output.ToString());
            }
        }
        finally
        {
            Console.SetOut(previous);
        }
        return outputs;
    }

    // The app as WovenApp sees it, in a load context of its own: from the attributes, or from the entry point's description.
    static object LoadApp(Fixture fixture, bool describe)
    {
        var context = new FixtureContext(fixture.WovenDll);
        var assembly = context.LoadFromAssemblyPath(fixture.WovenDll);
        var wovenApp = WeaverType(context, "Weaving.WovenApp");
        if (!describe)
            return wovenApp.GetMethod("TryLoad")!.Invoke(null, [assembly])!;
        var generated = assembly.GetTypes()
            .Select(t => t.GetMethod("<Weaving>Describe", BindingFlags.Static | BindingFlags.NonPublic))
            .SingleOrDefault(m => m is not null);
        Assert.IsNotNull(generated, $"{fixture.Name}: the woven entry point's type has no <Weaving>Describe.");
        return wovenApp.GetMethod("Load")!.Invoke(null, [assembly, generated.Invoke(null, null)])!;
    }

    static string Describe(object app)
    {
        static object? Get(object o, string property) => o.GetType().GetProperty(property)!.GetValue(o);
        static string Names(object list) => string.Join(",", ((System.Collections.IEnumerable)list).Cast<object>());
        var lines = new List<string>();
        foreach (var group in (System.Collections.IEnumerable)Get(app, "Groups")!)
            lines.Add($"group {Get(group, "Name")} rank {Get(group, "Rank")} owns {Get(group, "OwnsState")}");
        foreach (var stage in (System.Collections.IEnumerable)Get(app, "Stages")!)
            lines.Add($"stage {Get(stage, "Name")} in {Get(stage, "Group")} message {Get(stage, "MessageTypeName")} " +
                      $"copy {Get(stage, "CopyArguments")} kind {Get(stage, "Kind")} after [{Names(Get(stage, "BarrierAfter")!)}] " +
                      $"seeds [{Names(Get(stage, "Seeds")!)}]");
        return string.Join(Environment.NewLine, lines);
    }

    static Type WeaverType(AssemblyLoadContext context, string name) =>
        context.LoadFromAssemblyName(new AssemblyName("Weaver")).GetType(name, throwOnError: true)!;

    // The fixture and its own Weaver.dll (so its own statics: its own Pipeline and WovenApp cache).
    sealed class FixtureContext(string path) : AssemblyLoadContext("WovenAppDescription " + Guid.NewGuid())
    {
        readonly AssemblyDependencyResolver resolver = new(path);

        protected override Assembly? Load(AssemblyName name) =>
            resolver.ResolveAssemblyToPath(name) is { } file ? LoadFromAssemblyPath(file) : null;
    }
}
