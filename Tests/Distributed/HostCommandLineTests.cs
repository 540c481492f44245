using Weaving.Tests.Infrastructure;

namespace Weaving.Tests.Distributed;

/// <summary>Bad input gets one clear line on stderr and a non-zero exit, never a stack trace; --list describes the app.</summary>
[TestClass]
public sealed class HostCommandLineTests
{
    static ProcessResult Host(params string[] args) =>
        ProcessRunner.Run("dotnet", [HostProcess.HostDll, .. args], TimeSpan.FromMinutes(1), workingDirectory: Fixtures.RepoRoot);

    static ProcessResult HostWithEnvironment(Dictionary<string, string> environment, params string[] args)
    {
        using var running = ProcessRunner.Start("dotnet", [HostProcess.HostDll, .. args], environment, Fixtures.RepoRoot);
        return running.WaitForExit(TimeSpan.FromMinutes(1));
    }

    static void AssertOneClearLine(ProcessResult result, string expected)
    {
        Assert.AreNotEqual(0, result.ExitCode, $"bad input must fail: {result}");
        var lines = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.AreEqual(1, lines.Length, $"one line on stderr: {result}");
        StringAssert.Contains(lines[0], expected);
        Assert.IsFalse(result.StandardError.Contains("   at "), $"no stack trace: {result}");
        Assert.AreEqual("", result.StandardOutput, "nothing on stdout");
    }

    [TestMethod]
    public void A_missing_assembly_is_one_clear_line() =>
        AssertOneClearLine(Host("--app", "no/such/App.dll", "--stage", "all"), "no/such/App.dll: no such file");

    [TestMethod]
    public void An_assembly_that_is_not_woven_is_one_clear_line() =>
        AssertOneClearLine(Host("--app", Path.Combine(Fixtures.Get("HandWoven").OutputDirectory, "Weaver.dll"), "--stage", "all"), "is not woven");

    [TestMethod]
    public void A_program_the_weaver_cut_nothing_in_is_listed_as_Main_alone_and_runs_whole_as_the_source()
    {
        var fixture = Fixtures.Get("NothingToCut");
        var list = Host("--app", fixture.WovenDll, "--list");
        Assert.AreEqual(0, list.ExitCode, list.ToString());
        StringAssert.StartsWith(list.StandardOutput, "Main\t(the whole program: the weaver cut nothing in NothingToCut");

        var run = Host("--app", fixture.WovenDll, "--stage", "Main");
        var unwoven = ProcessRunner.RunDotnet(fixture.UnwovenDll);
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.AreEqual(unwoven.StandardOutput, run.StandardOutput);

        AssertOneClearLine(Host("--app", fixture.WovenDll, "--stage", "Work"), "the weaver cut nothing in NothingToCut: it has no stage 'Work'");
    }

    [TestMethod]
    public void A_file_that_is_not_an_assembly_is_one_clear_line() =>
        AssertOneClearLine(Host("--app", Fixtures.Get("HandWoven").StageMapJson, "--stage", "all"), "is not a .NET assembly");

    [TestMethod]
    public void An_unknown_stage_is_one_clear_line_that_lists_the_stages() =>
        AssertOneClearLine(Host("--app", Fixtures.Get("HandWoven").WovenDll, "--stage", "OnParse"), "no stage or group 'OnParse'; stages: Main, OnEnd, OnLine, OnWord");

    [TestMethod]
    public void An_unknown_option_is_one_clear_line() =>
        AssertOneClearLine(Host("--app", Fixtures.Get("HandWoven").WovenDll, "--stages", "all"), "Unrecognized command or argument '--stages' (see --help)");

    [TestMethod]
    public void A_negative_retry_count_is_one_clear_line() =>
        AssertOneClearLine(Host("--app", Fixtures.Get("HandWoven").WovenDll, "--stage", "all", "--retries", "-1"), "bad setting: Weaving:Retries (--retries) must be 0 or more (0 fails a throwing handler's message at once), not -1");

    [TestMethod]
    public void A_bad_setting_from_the_environment_is_one_clear_line_naming_it() =>
        AssertOneClearLine(HostWithEnvironment(new() { ["Weaving__Heartbeat"] = "00:00:00.5" }, "--app", Fixtures.Get("HandWoven").WovenDll, "--stage", "all"),
            "bad setting: Weaving:Heartbeat must be at least 1 second (write a time such as 00:00:05), not 00:00:00.5000000");

    [TestMethod]
    public void A_value_of_the_wrong_type_on_the_command_line_is_one_clear_line_naming_the_option() =>
        AssertOneClearLine(Host("--app", Fixtures.Get("HandWoven").WovenDll, "--stage", "all", "--prefetch", "many"),
            "Cannot parse argument 'many' for option '--prefetch'");

    [TestMethod]
    public void A_value_of_the_wrong_type_in_the_environment_is_one_clear_line_naming_the_setting() =>
        AssertOneClearLine(HostWithEnvironment(new() { ["Weaving__Prefetch"] = "many" }, "--app", Fixtures.Get("HandWoven").WovenDll, "--stage", "all"),
            "bad setting: Failed to convert configuration value 'many' at 'Weaving:Prefetch'");

    [TestMethod]
    public void Help_prints_the_usage_of_every_option_and_exits_0()
    {
        var result = Host("--help");
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        foreach (var option in new[] { "--app", "--stage", "--list", "--json", "--rabbitmq", "--prefetch", "--retries", "--max-message-bytes" })
            StringAssert.Contains(result.StandardOutput, option);
    }

    [TestMethod]
    public void Arguments_after_the_separator_are_the_programs_even_when_they_look_like_options()
    {
        var parsed = Weaving.Host.Startup.CommandLine.Parse(["--stage", "Main", "--retries", "0", "--", "--stage", "@file", "--", "-x"], TextWriter.Null);
        CollectionAssert.AreEqual(new[] { "--stage", "@file", "--", "-x" }, parsed.ProgramArguments);
        Assert.AreEqual("Main", parsed.Settings["Weaving:Stage"]);
        Assert.AreEqual("0", parsed.Settings["Weaving:Retries"]);
        Assert.IsFalse(parsed.Settings.ContainsKey("Weaving:Prefetch"), "an option not given leaves the configuration's value");
    }

    [TestMethod]
    public void An_unreachable_broker_is_one_clear_line() =>
        AssertOneClearLine(Host("--app", Fixtures.Get("HandWoven").WovenDll, "--stage", "all", "--rabbitmq", "amqp://guest:guest@127.0.0.1:1/"),
            "cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:1/");

    [TestMethod]
    public void An_assembly_woven_against_another_runtime_is_refused()
    {
        // The same program, its WovenAssembly attribute saying runtime 9.9.9.9 instead of 0.1.0.0.
        var fixture = Fixtures.Get("HandWoven");
        var folder = Directory.CreateTempSubdirectory("weaving-version-").FullName;
        try
        {
            foreach (var file in Directory.GetFiles(fixture.OutputDirectory))
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            var dll = Path.Combine(folder, "HandWoven.dll");
            var bytes = File.ReadAllBytes(dll);
            byte[] attribute = [14, .. "handwoven-0001"u8, 7, .. "0.1.0.0"u8];
            var at = bytes.AsSpan().IndexOf(attribute);
            Assert.IsTrue(at >= 0, "the WovenAssembly attribute blob was not found in HandWoven.dll");
            "9.9.9.9"u8.CopyTo(bytes.AsSpan(at + 16));
            File.WriteAllBytes(dll, bytes);

            AssertOneClearLine(Host("--app", dll, "--stage", "all"), "was woven against Weaving runtime 9.9.9.9, but this host carries runtime 0.1.0.0");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void List_prints_one_line_per_group_with_its_stages_state_and_queue()
    {
        var result = Host("--app", Fixtures.Get("HandWoven").WovenDll, "--list");
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        Assert.AreEqual(
            "Parse\tOnLine\tstateless\tweaving.HandWoven.Parse\n" +
            "Aggregate\tOnEnd,OnWord\towns state\tweaving.HandWoven.Aggregate\n",
            result.StandardOutput.ReplaceLineEndings("\n"));
    }

    [TestMethod]
    public void List_json_prints_the_embedded_stage_map()
    {
        var fixture = Fixtures.Get("HandWoven");
        var result = Host("--app", fixture.WovenDll, "--list", "--json");
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        Assert.AreEqual(File.ReadAllText(fixture.StageMapJson).Trim(), result.StandardOutput.Trim());
    }
}
