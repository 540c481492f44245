using System.Xml.Linq;
using Mono.Cecil;

namespace Weaving.Fody;

/// <summary>
/// The options of <c>&lt;Weaver /&gt;</c> in FodyWeavers.xml. Anything unknown or malformed is a build error that says
/// what to write instead.
/// </summary>
public sealed class WeaverOptions
{
    public static readonly IReadOnlyDictionary<string, string> Known = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["StageMap"] = "true|false (default true): write <Assembly>.stages.json and .stages.md beside the assembly",
        ["Verbose"] = "true|false (default false): list every decision in the build log",
        ["Exclude"] = "space-separated handler names (Method or Type.Method) that stay synchronous, like [Inline]",
    };

    public bool StageMap { get; private set; } = true;
    public bool Verbose { get; private set; }
    public IReadOnlyCollection<string> Exclude { get; private set; } = [];

    public bool Excludes(MethodDefinition method) =>
        Exclude.Contains(method.Name) || Exclude.Contains(method.DeclaringType.Name + "." + method.Name)
                                      || Exclude.Contains(method.DeclaringType.FullName + "." + method.Name);

    /// <summary>Reads the options; throws <see cref="WeaverConfigException"/> naming the attribute and the valid ones.</summary>
    public static WeaverOptions Parse(XElement? config)
    {
        var options = new WeaverOptions();
        if (config is null) return options;
        foreach (var attribute in config.Attributes())
        {
            var name = attribute.Name.LocalName;
            if (attribute.IsNamespaceDeclaration || attribute.Name.NamespaceName.Length > 0) continue;
            switch (name)
            {
                case "StageMap": options.StageMap = Bool(attribute); break;
                case "Verbose": options.Verbose = Bool(attribute); break;
                case "Exclude":
                    options.Exclude = attribute.Value.Split([' ', '\t', '\n', '\r', ',', ';'], StringSplitOptions.RemoveEmptyEntries)
                        .ToList();
                    break;
                default:
                    throw new WeaverConfigException(
                        $"FodyWeavers.xml: <Weaver> has an unknown attribute '{name}'. Valid attributes: " +
                        string.Join("; ", Known.Select(k => $"{k.Key}=\"{k.Value}\"")) + ".");
            }
        }
        foreach (var element in config.Elements())
            throw new WeaverConfigException(
                $"FodyWeavers.xml: <Weaver> has an unknown child element <{element.Name.LocalName}>; options are attributes: " +
                string.Join(", ", Known.Keys) + ".");
        return options;
    }

    static bool Bool(XAttribute attribute)
    {
        var value = attribute.Value.Trim();
        if (string.Equals(value, "true", StringComparison.OrdinalIgnoreCase)) return true;
        if (string.Equals(value, "false", StringComparison.OrdinalIgnoreCase)) return false;
        throw new WeaverConfigException(
            $"FodyWeavers.xml: <Weaver {attribute.Name.LocalName}=\"{attribute.Value}\"> is not a boolean; write {attribute.Name.LocalName}=\"true\" or {attribute.Name.LocalName}=\"false\".");
    }
}

public sealed class WeaverConfigException(string message) : Exception(message);
