/// The two interpreters that stand in for the .NET Interactive kernels: F# cells run in one
/// embedded F# Interactive session, C# cells in one chain of Roslyn script submissions. Each
/// notebook gets its own sessions, so its cells see each other's definitions in order, exactly
/// as in Polyglot Notebooks. Neither has the kernels' `#!` magics, `#r "nuget:"` or `display`:
/// a small `display` that prints is defined before the first cell.
module FunDiff.Notebooks.Tests.Sessions

open System
open System.IO
open System.Text
open System.Threading
open FSharp.Compiler.Interactive.Shell
open Microsoft.CodeAnalysis
open Microsoft.CodeAnalysis.CSharp.Scripting
open Microsoft.CodeAnalysis.Scripting

/// A cell that failed: the compiler's errors or the exception it threw.
exception CellFailedException of string

/// Runs `action` with Console.Out and Console.Error sent to `writer`: the cells print with
/// printfn / Console.WriteLine. The tests of this assembly run one at a time (one class).
let private capturing (writer: TextWriter) (action: unit -> 'T) =
    let out, err = Console.Out, Console.Error
    Console.SetOut writer
    Console.SetError writer

    try
        action ()
    finally
        Console.SetOut out
        Console.SetError err

/// The F# kernel: one FsiEvaluationSession whose relative `#r` paths resolve from the
/// notebook's folder.
type FSharpSession(notebookPath: string, transcript: StringBuilder) =
    let writer = new StringWriter(transcript)
    let fsiOut = new StringWriter()
    let config = FsiEvaluationSession.GetDefaultConfiguration()

    // --multiemit- keeps every cell in one dynamic assembly, as `dotnet fsi` does by default
    let session =
        FsiEvaluationSession.Create(
            config,
            [|
                "fsi.exe"
                "--noninteractive"
                "--nologo"
                "--gui-"
                "--optimize+"
                "--warn:3"
            |],
            new StringReader(""),
            fsiOut,
            fsiOut,
            collectible = false
        )

    // where `#r "../src/..."` resolves: the directory of the (pretend) script path
    let scriptPath = Path.ChangeExtension(notebookPath, ".fsx")

    let evaluate (code: string) =
        let result, diagnostics =
            capturing writer (fun () -> session.EvalInteractionNonThrowing(code, scriptPath))

        let show (d: FSharp.Compiler.Diagnostics.FSharpDiagnostic) =
            sprintf "(%d,%d): %s FS%04d: %s" d.StartLine d.StartColumn (string d.Severity) d.ErrorNumber d.Message

        let errors =
            diagnostics
            |> Array.filter (fun d -> d.Severity = FSharp.Compiler.Diagnostics.FSharpDiagnosticSeverity.Error)
            |> Array.map show

        // warnings do not fail a cell, but a reader of the test output should see them
        for d in diagnostics do
            if d.Severity = FSharp.Compiler.Diagnostics.FSharpDiagnosticSeverity.Warning then
                writer.WriteLine(show d)

        match result with
        | Choice1Of2 _ when errors.Length = 0 -> ()
        | Choice1Of2 _ -> raise (CellFailedException(String.Join("\n", errors)))
        | Choice2Of2 ex ->
            let message =
                if errors.Length > 0 then
                    String.Join("\n", errors)
                else
                    // an exception thrown by the cell's code arrives wrapped by FSI
                    let rec inner (e: exn) =
                        if isNull e.InnerException then
                            e
                        else
                            inner e.InnerException

                    let e = inner ex
                    sprintf "%s: %s" (e.GetType().Name) e.Message

            raise (CellFailedException message)

    do
        // Polyglot Notebooks' F# kernel has `display`; plain F# Interactive does not
        evaluate "let display (value: obj) = printfn \"%O\" value"

    member _.Run(code: string) = evaluate code

    /// The assembly that the session's code binds `typeName` to, if the name is in scope.
    member _.AssemblyOf(typeName: string) : Reflection.Assembly option =
        match session.EvalExpressionNonThrowing(sprintf "typeof<%s>.Assembly" typeName) with
        | Choice1Of2(Some value), _ -> Some(value.ReflectionValue :?> Reflection.Assembly)
        | _ -> None

    interface IDisposable with
        member _.Dispose() =
            (session :> IDisposable).Dispose()
            writer.Dispose()

/// The C# kernel: a chain of Roslyn script submissions (RunAsync, then ContinueWithAsync) whose
/// `#r` paths resolve from the notebook's folder.
type CSharpSession(notebookPath: string, transcript: StringBuilder) =
    let writer = new StringWriter(transcript)
    let folder = Path.GetDirectoryName notebookPath

    // the shared framework, as the kernel references it (ScriptOptions.Default has only a few)
    let framework =
        let folder = Path.GetDirectoryName(typeof<obj>.Assembly.Location)

        (AppContext.GetData "TRUSTED_PLATFORM_ASSEMBLIES" :?> string).Split(Path.PathSeparator)
        |> Array.filter (fun file -> Path.GetDirectoryName file = folder)
        |> Array.map (fun file -> MetadataReference.CreateFromFile file :> MetadataReference)

    let options =
        ScriptOptions.Default
            .WithReferences(framework)
            .WithMetadataResolver(ScriptMetadataResolver.Default.WithBaseDirectory(folder).WithSearchPaths(folder))
            .WithSourceResolver(SourceFileResolver(Collections.Immutable.ImmutableArray<string>.Empty, folder))
            .WithFilePath(Path.ChangeExtension(notebookPath, ".csx"))
            .WithImports("System", "System.Linq", "System.Collections.Generic")
            .WithEmitDebugInformation(false)

    let mutable state: ScriptState<obj> = null

    let evaluate (code: string) =
        let run () =
            try
                let next =
                    if isNull state then
                        CSharpScript.RunAsync(code, options)
                    else
                        state.ContinueWithAsync(code, options)

                state <- next.GetAwaiter().GetResult()
                // as the kernel displays a cell's trailing expression
                if not (isNull state.ReturnValue) then
                    writer.WriteLine(string state.ReturnValue)
            with
            | :? CompilationErrorException as e -> raise (CellFailedException(String.Join("\n", e.Diagnostics)))
            | :? CellFailedException -> reraise ()
            | e ->
                let rec inner (e: exn) =
                    if e :? AggregateException && not (isNull e.InnerException) then
                        inner e.InnerException
                    else
                        e

                let e = inner e
                raise (CellFailedException(sprintf "%s: %s\n%s" (e.GetType().Name) e.Message e.StackTrace))

        capturing writer run

    do
        // Polyglot Notebooks' C# kernel has `display`; Roslyn scripting does not
        evaluate "void display(object value) => System.Console.WriteLine(value);"

    member _.Run(code: string) = evaluate code

    /// The assembly that the submissions bind `typeName` to, if the name is in scope.
    member _.AssemblyOf(typeName: string) : Reflection.Assembly option =
        try
            let next = state.ContinueWithAsync(sprintf "typeof(%s).Assembly" typeName, options)
            Some(next.GetAwaiter().GetResult().ReturnValue :?> Reflection.Assembly)
        with _ ->
            None

    interface IDisposable with
        member _.Dispose() = writer.Dispose()
