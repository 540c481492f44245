using System.Runtime.InteropServices;
using System.Text.Json;
using Weaving.Tests.Infrastructure;

namespace Weaving.Tests;

/// <summary>
/// The runtime and the host are precompiled in Release with crossgen2 (ReadyToRun.targets), which restore downloads. A
/// restore is not told the configuration (build.sh runs <c>dotnet restore</c>, then a Release build without restoring):
/// the download must not depend on it, or a machine with an empty package cache fails its first build with
/// "crossgen2: not found".
/// </summary>
[TestClass]
public sealed class ReadyToRunRestoreTests
{
    const string Crossgen2 = "Microsoft.NETCore.App.Crossgen2.linux-x64";

    static string[] PackageDownloads(string project, params string[] properties)
    {
        var result = ProcessRunner.Run("dotnet", ["msbuild", project, "-getItem:PackageDownload", .. properties],
            TimeSpan.FromMinutes(2), workingDirectory: Fixtures.RepoRoot);
        Assert.AreEqual(0, result.ExitCode, $"dotnet msbuild {project}: {result}");
        using var json = JsonDocument.Parse(result.StandardOutput);
        return json.RootElement.GetProperty("Items").TryGetProperty("PackageDownload", out var items)
            ? [.. items.EnumerateArray().Select(i => i.GetProperty("Identity").GetString()!)]
            : [];
    }

    [TestMethod]
    [DataRow("Weaver/Weaver.csproj", "Debug")]
    [DataRow("Weaver/Weaver.csproj", "Release")]
    [DataRow("Runtime.Host/Runtime.Host.csproj", "Debug")]
    [DataRow("Runtime.Host/Runtime.Host.csproj", "Release")]
    public void Restore_downloads_crossgen2_whatever_configuration_it_is_told(string project, string configuration)
    {
        var downloads = PackageDownloads(project, $"-p:Configuration={configuration}");
        // Precompiled for the platform it is built on, and only on linux-x64 (elsewhere the JIT compiles it as usual).
        var expected = RuntimeInformation.RuntimeIdentifier == "linux-x64";
        Assert.AreEqual(expected, downloads.Contains(Crossgen2), $"{project} ({configuration}) downloads: {string.Join(", ", downloads)}");
    }

    [TestMethod]
    public void Turned_off_it_downloads_nothing()
    {
        var downloads = PackageDownloads("Weaver/Weaver.csproj", "-p:Configuration=Release", "-p:WeavingReadyToRun=false");
        CollectionAssert.DoesNotContain(downloads, Crossgen2);
    }
}
