using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Xml.Linq;

namespace FunDiff.Packaging.Tests;

/// <summary>
/// Packs FunDiff.Core and FunDiff.CSharp once (as the build of this test run left them, with
/// a version unique to the run) into a local feed in a fresh temporary directory.
/// </summary>
public sealed class PackedFeed : IDisposable
{
    public static readonly TimeSpan ProcessTimeout = TimeSpan.FromMinutes(5);

    public string Root { get; }
    public string Work { get; }
    public string Feed { get; }
    public string Version { get; }
    public string Configuration { get; }

    public PackedFeed()
    {
        Root = FindRepositoryRoot();
        Work = Directory.CreateTempSubdirectory("fundiff-pack-").FullName;
        Feed = Path.Combine(Work, "feed");
        // unique per run, so no package cache anywhere can hold an older build of this version
        Version = "0.1.0-packtest-" + Guid.NewGuid().ToString("N");
        Configuration = typeof(PackedFeed).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "Configuration").Value!;

        foreach (var project in new[] { "FunDiff.Core/FunDiff.Core.fsproj", "FunDiff.CSharp/FunDiff.CSharp.csproj" })
            Dotnet(Root,
                "pack", Path.Combine(Root, "src", project), "--no-build", "-c", Configuration, "-o", Feed,
                "-p:Version=" + Version, "-p:NuspecOutputPath=" + Path.Combine(Work, "nuspec") + Path.DirectorySeparatorChar);
    }

    public string Package(string id, string extension = "nupkg") =>
        Path.Combine(Feed, $"{id}.{Version}.{extension}");

    public void Dispose()
    {
        try { Directory.Delete(Work, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FunDiff.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException("FunDiff.sln above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// Runs the dotnet CLI (no build servers, no MSBuild node reuse: nothing outlives the
    /// command holding its output open) and returns its output; fails with the command, its
    /// exit code and all it printed.
    /// </summary>
    public static string Dotnet(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        // the test host inherits MSBuild's variables from `dotnet test`; the child starts clean
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(key);
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";

        var command = $"dotnet {string.Join(' ', args)}";
        var output = new StringBuilder();
        using var outDone = new ManualResetEventSlim();
        using var errDone = new ManualResetEventSlim();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is null) outDone.Set(); else lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is null) errDone.Set(); else lock (output) output.AppendLine(e.Data); };
        var clock = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        if (!process.WaitForExit(ProcessTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{command}` in {workingDirectory} did not finish in {ProcessTimeout}:\n{Text(output)}");
        }

        outDone.Wait(TimeSpan.FromSeconds(30));
        errDone.Wait(TimeSpan.FromSeconds(30));
        Assert.True(process.ExitCode == 0,
            $"`{command}` in {workingDirectory} exited with {process.ExitCode} after {clock.Elapsed.TotalSeconds:F0} s:\n{Text(output)}");
        return Text(output);
    }

    private static string Text(StringBuilder output)
    {
        lock (output) return output.ToString();
    }
}

/// <summary>
/// The NuGet packages: their metadata and files, and a fresh console project that restores
/// FunDiff.CSharp from the local feed (with the machine's usual sources alongside), builds and
/// runs a gradient.
/// </summary>
public class PackageTests(PackedFeed feed) : IClassFixture<PackedFeed>
{
    private static XElement Metadata(ZipArchive package)
    {
        var nuspec = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = nuspec.Open();
        var root = XDocument.Load(stream).Root!;
        return root.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static string Field(XElement metadata, string name) =>
        metadata.Elements().Single(e => e.Name.LocalName == name).Value;

    private static string[] Dependencies(XElement metadata) =>
        metadata.Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(e => $"{e.Attribute("id")!.Value} {e.Attribute("version")!.Value}")
            .Order().ToArray();

    [Theory]
    [InlineData("FunDiff.Core")]
    [InlineData("FunDiff.CSharp")]
    public void The_package_has_its_metadata_the_README_and_the_licence(string id)
    {
        using var package = ZipFile.OpenRead(feed.Package(id));
        var metadata = Metadata(package);
        Assert.Equal(id, Field(metadata, "id"));
        Assert.Equal(feed.Version, Field(metadata, "version"));
        Assert.Equal("FunDiff contributors", Field(metadata, "authors"));
        Assert.Equal("Apache-2.0", Field(metadata, "license"));
        Assert.Equal("README.md", Field(metadata, "readme"));
        Assert.Contains("autodiff", Field(metadata, "tags"));
        Assert.NotEmpty(Field(metadata, "description"));

        var files = package.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("README.md", files);
        Assert.Contains("LICENSE", files);
        Assert.Contains($"lib/net10.0/{id}.dll", files);
        Assert.Contains($"lib/net10.0/{id}.xml", files);   // the API documentation for IntelliSense

        using var symbols = ZipFile.OpenRead(feed.Package(id, "snupkg"));
        Assert.Contains($"lib/net10.0/{id}.pdb", symbols.Entries.Select(e => e.FullName));
    }

    [Fact]
    public void FunDiff_CSharp_depends_on_FunDiff_Core_of_the_same_version_and_Core_on_its_libraries()
    {
        using var csharp = ZipFile.OpenRead(feed.Package("FunDiff.CSharp"));
        Assert.Equal([$"FunDiff.Core {feed.Version}"], Dependencies(Metadata(csharp)));

        using var core = ZipFile.OpenRead(feed.Package("FunDiff.Core"));
        var ids = Dependencies(Metadata(core)).Select(d => d.Split(' ')[0]).ToArray();
        Assert.Equal(["FSharp.Core", "MathNet.Numerics", "System.Numerics.Tensors"], ids);
    }

    [Fact]
    public void A_fresh_project_restores_FunDiff_CSharp_from_the_feed_and_computes_a_gradient()
    {
        var project = Directory.CreateDirectory(Path.Combine(feed.Work, "consumer")).FullName;
        var packages = Path.Combine(feed.Work, "packages");
        var global = PackedFeed.Dotnet(project, "nuget", "locals", "global-packages", "--list")
            .Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("global-packages:", StringComparison.Ordinal))
            ["global-packages:".Length..].Trim();

        // the local feed next to the machine's usual sources (no <clear/>)
        File.WriteAllText(Path.Combine(project, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="fundiff-local" value="{feed.Feed}" />
              </packageSources>
            </configuration>
            """);
        // packages land in a folder of this run only; the third-party dependencies are found in
        // the machine's packages folder as a read-only fallback, so nothing is downloaded twice
        File.WriteAllText(Path.Combine(project, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <UseAppHost>false</UseAppHost>
                <RestorePackagesPath>{packages}</RestorePackagesPath>
                <RestoreAdditionalProjectFallbackFolders>{global}</RestoreAdditionalProjectFallbackFolders>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="FunDiff.CSharp" Version="[{feed.Version}]" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "Program.cs"), """
            using System.Globalization;
            using FunDiff;
            using static FunDiff.Fn;

            string Show(double v) => v.ToString(CultureInfo.InvariantCulture);
            Console.WriteLine(string.Join(" ", Gradient(x => (x * x).Sum(), 1.0, 2.0, 3.0).Select(Show)));
            Func<Tensor, Tensor> cube = x => x.Pow(3);
            Console.WriteLine(Show((double)cube.Grad().Grad()(2.0)));
            Console.WriteLine(typeof(Tensor).Assembly.GetName().Name);
            """);

        var build = PackedFeed.Dotnet(project, "build", "--disable-build-servers", "-nodeReuse:false", "-p:UseSharedCompilation=false");

        // the packages of this version came from the feed into this run's folder
        Assert.True(Directory.Exists(Path.Combine(packages, "fundiff.csharp", feed.Version)), build);
        Assert.True(Directory.Exists(Path.Combine(packages, "fundiff.core", feed.Version)), build);

        var output = PackedFeed.Dotnet(project, "bin/Debug/net10.0/Consumer.dll")
            .ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.Equal(["2 4 6", "12", "FunDiff.Core"], output);
    }
}
