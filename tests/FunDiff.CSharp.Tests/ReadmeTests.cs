using System.Text.RegularExpressions;
using FunDiff;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;

namespace FunDiff.CSharp.Tests;

/// <summary>Tests that redirect <see cref="Console.Out"/> run alone.</summary>
[CollectionDefinition(nameof(ConsoleOutput), DisableParallelization = true)]
public class ConsoleOutput;

/// <summary>
/// Keeps the README honest: its C# example (the ```csharp block under "## From C#") compiles
/// and runs exactly as written, as a script and as the Program.cs of a console project.
/// </summary>
[Collection(nameof(ConsoleOutput))]
public class ReadmeTests
{
    /// <summary>The usings of a console project with ImplicitUsings (what `dotnet new console` has).</summary>
    private static readonly string[] ImplicitUsings =
    [
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http",
        "System.Threading", "System.Threading.Tasks",
    ];

    private static string FindReadme()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var readme = Path.Combine(dir.FullName, "README.md");
            if (File.Exists(readme) && File.Exists(Path.Combine(dir.FullName, "FunDiff.sln")))
                return readme;
        }

        throw new FileNotFoundException("README.md next to FunDiff.sln, above " + AppContext.BaseDirectory);
    }

    /// <summary>The first ```csharp block of the README's "## From C#" section.</summary>
    internal static string CSharpExample()
    {
        var readme = File.ReadAllText(FindReadme()).ReplaceLineEndings("\n");
        var section = Regex.Match(readme, @"^## From C#\n(.*?)(?=^## |\z)", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.True(section.Success, "the README has no \"## From C#\" section");
        var block = Regex.Match(section.Groups[1].Value, @"^```csharp\n(.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.True(block.Success, "the README's \"## From C#\" section has no ```csharp block");
        return block.Groups[1].Value;
    }

    [Fact]
    public async Task The_README_example_runs_as_a_script()
    {
        var code = CSharpExample();
        var options = ScriptOptions.Default
            .WithReferences(typeof(Tensor).Assembly, typeof(Fn).Assembly)
            .WithImports(ImplicitUsings);

        var output = new StringWriter();
        var saved = Console.Out;
        Console.SetOut(output);
        try
        {
            await CSharpScript.RunAsync(code, options);
        }
        finally
        {
            Console.SetOut(saved);
        }

        var lines = output.ToString().ReplaceLineEndings("\n").Split('\n');
        Assert.Equal("6.0", lines[0]);                  // Grad(x => x * x)(3.0)
        Assert.Contains("{ lambda ; a:f64[3] . let", lines);
        Assert.Contains("12.0", lines);                 // cube.Grad().Grad()(2.0)
        Assert.Contains("2, 4", lines);                 // Gradient(x => (x * x).Sum(), 1.0, 2.0)
    }

    [Fact]
    public void The_README_example_compiles_as_the_Program_cs_of_a_console_project()
    {
        var globalUsings = string.Concat(ImplicitUsings.Select(u => $"global using global::{u};\n"));
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var references = platform
            .Concat([typeof(Tensor).Assembly.Location, typeof(Fn).Assembly.Location])
            .Distinct()
            .Select(path => MetadataReference.CreateFromFile(path));
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create(
            "ReadmeExample",
            [
                CSharpSyntaxTree.ParseText(globalUsings, parse, "GlobalUsings.g.cs"),
                CSharpSyntaxTree.ParseText(CSharpExample(), parse, "Program.cs"),
            ],
            references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));

        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        var problems = result.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString());
        Assert.True(result.Success, string.Join("\n", problems));
        Assert.Empty(problems);
    }
}
