using System.IO.Compression;
using System.Reflection;
using System.Xml.Linq;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests;

/// <summary>
/// What users expect of a package besides its content: a license expression, a readme, the commit it was built from, and
/// its symbols in a .snupkg beside it. Both packages are packed here from the Release build (dotnet pack --no-build).
/// </summary>
[TestClass]
public sealed class PackageMetadataTests
{
    static readonly Lazy<string> packed = new(Pack);

    static string Version { get; } =
        typeof(WovenApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];

    static string Pack()
    {
        var folder = Directory.CreateTempSubdirectory("weaving-pack-").FullName;
        foreach (var project in new[] { "Weaver/Weaver.csproj", "Runtime.Host/Runtime.Host.csproj" })
        {
            var result = ProcessRunner.Run("dotnet", ["pack", project, "-c", Fixtures.Configuration, "--no-build", "--no-restore", "-o", folder],
                TimeSpan.FromMinutes(5), workingDirectory: Fixtures.RepoRoot);
            Assert.AreEqual(0, result.ExitCode, $"dotnet pack {project}: {result}");
        }
        return folder;
    }

    [ClassCleanup]
    public static void DeletePackages()
    {
        if (packed.IsValueCreated) Directory.Delete(packed.Value, recursive: true);
    }

    [TestMethod]
    [DataRow("Weaver.Fody", "lib/net10.0/Weaver.pdb")]
    [DataRow("Weaving.Runtime.Host", "tools/net10.0/any/Runtime.Host.pdb")]
    public void The_package_names_its_license_readme_and_commit_and_its_symbols_are_beside_it(string id, string pdb)
    {
        var path = Path.Combine(packed.Value, $"{id}.{Version}.nupkg");
        using var package = ZipFile.OpenRead(path);
        var nuspec = package.GetEntry($"{id}.nuspec") ?? throw new AssertFailedException($"{path} has no {id}.nuspec");
        XDocument document;
        using (var stream = nuspec.Open()) document = XDocument.Load(stream);
        var metadata = document.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        XElement? Element(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name);

        Assert.AreEqual("MIT", Element("license")?.Value, $"{id}: {metadata}");
        Assert.AreEqual("expression", (string?)Element("license")?.Attribute("type"));
        Assert.AreEqual("README.md", Element("readme")?.Value, $"{id}: {metadata}");
        Assert.IsNotNull(package.GetEntry("README.md"), $"{path} lacks the README.md its nuspec names");
        var repository = Element("repository");
        Assert.IsNotNull(repository, $"{id}: no repository element: {metadata}");
        StringAssert.Matches((string?)repository.Attribute("commit") ?? "", new System.Text.RegularExpressions.Regex("^[0-9a-f]{40}$"));

        using var symbols = ZipFile.OpenRead(Path.ChangeExtension(path, ".snupkg"));
        Assert.IsNotNull(symbols.GetEntry(pdb), $"{id}.snupkg lacks {pdb}");
    }
}
