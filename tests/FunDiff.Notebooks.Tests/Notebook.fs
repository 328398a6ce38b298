/// Reading .NET Interactive (Polyglot) notebooks: the .ipynb JSON, the kernel of each cell, and
/// the checks of the parts that are not executed (notebook metadata, Markdown and Mermaid cells).
module FunDiff.Notebooks.Tests.Notebook

open System
open System.IO
open System.Text.Json
open System.Text.RegularExpressions

/// What a cell is: prose, or code for one of the kernels the notebooks use.
type CellKind =
    | Markdown
    | Code of kernel: string

/// One cell: its number as a reader counts them (1-based, every cell counted) and its text,
/// with a first-line kernel selector (`#!fsharp`, `#!csharp`, `#!mermaid`) removed.
type Cell =
    {
        Number: int
        Kind: CellKind
        Source: string
    }

type Notebook =
    {
        Path: string
        Name: string
        DefaultKernel: string
        Cells: Cell list
    }

/// A problem with a notebook's format, reported with the notebook and cell it concerns.
exception NotebookFormatException of string

let private fail fmt =
    Printf.kprintf (fun s -> raise (NotebookFormatException s)) fmt

/// The kernels a cell may name; the harness executes the first two and checks the third.
let executableKernels = set [ "fsharp"; "csharp" ]
let displayKernels = set [ "mermaid" ]

/// The `language` that the older `dotnet_interactive` cell metadata uses for each kernel.
let private languageOfKernel =
    dict [ "fsharp", "fsharp"; "csharp", "csharp"; "mermaid", "mermaid" ]

let private kernelSelector =
    Regex(@"^#!(fsharp|f#|csharp|c#|mermaid)\s*$", RegexOptions.IgnoreCase)

let private canonicalKernel (name: string) =
    match name.ToLowerInvariant() with
    | "f#" -> "fsharp"
    | "c#" -> "csharp"
    | n -> n

let private property (e: JsonElement) (name: string) =
    match e.ValueKind with
    | JsonValueKind.Object ->
        match e.TryGetProperty name with
        | true, v -> Some v
        | _ -> None
    | _ -> None

let private path (e: JsonElement) (names: string list) =
    names
    |> List.fold (fun acc n -> acc |> Option.bind (fun x -> property x n)) (Some e)

let private str (e: JsonElement option) =
    match e with
    | Some v when v.ValueKind = JsonValueKind.String -> Some(v.GetString())
    | _ -> None

/// ipynb stores a cell's source as one string or as a list of lines (each keeping its "\n").
let private sourceText (name: string) (number: int) (cell: JsonElement) =
    match property cell "source" with
    | Some s when s.ValueKind = JsonValueKind.String -> s.GetString()
    | Some s when s.ValueKind = JsonValueKind.Array ->
        s.EnumerateArray() |> Seq.map (fun l -> l.GetString()) |> String.concat ""
    | _ -> fail "%s, cell %d: no \"source\" (a string or a list of lines)." name number

/// Checks the notebook-level metadata that VS Code's Polyglot Notebooks and Jupyter's .NET
/// kernels read, and returns the default kernel name.
let private checkNotebookMetadata (name: string) (root: JsonElement) =
    let metadata =
        match property root "metadata" with
        | Some m -> m
        | None -> fail "%s: no notebook \"metadata\"." name

    let defaultKernel =
        match str (path metadata [ "polyglot_notebook"; "kernelInfo"; "defaultKernelName" ]) with
        | Some k when executableKernels.Contains k -> k
        | Some k -> fail "%s: polyglot_notebook.kernelInfo.defaultKernelName is %s, not fsharp or csharp." name k
        | None -> fail "%s: no metadata.polyglot_notebook.kernelInfo.defaultKernelName." name

    let expectedSpec, expectedDisplay, expectedLanguage =
        if defaultKernel = "fsharp" then
            ".net-fsharp", ".NET (F#)", "F#"
        else
            ".net-csharp", ".NET (C#)", "C#"

    match
        str (path metadata [ "kernelspec"; "name" ]),
        str (path metadata [ "kernelspec"; "display_name" ]),
        str (path metadata [ "kernelspec"; "language" ])
    with
    | Some n, Some d, Some l when n = expectedSpec && d = expectedDisplay && l = expectedLanguage -> ()
    | n, d, l ->
        fail
            "%s: kernelspec is (name %A, display_name %A, language %A); the .NET kernel for %s is (%s, %s, %s)."
            name
            n
            d
            l
            defaultKernel
            expectedSpec
            expectedDisplay
            expectedLanguage

    match str (path metadata [ "language_info"; "name" ]) with
    | Some _ -> ()
    | None -> fail "%s: no metadata.language_info.name." name

    let items =
        match path metadata [ "polyglot_notebook"; "kernelInfo"; "items" ] with
        | Some items when items.ValueKind = JsonValueKind.Array ->
            items.EnumerateArray()
            |> Seq.choose (fun i -> str (property i "name"))
            |> Set.ofSeq
        | _ -> fail "%s: no metadata.polyglot_notebook.kernelInfo.items." name

    if not (items.Contains defaultKernel) then
        fail "%s: polyglot_notebook.kernelInfo.items does not list the default kernel %s." name defaultKernel

    defaultKernel, items

/// A code cell's kernel: from `metadata.polyglot_notebook.kernelName` and
/// `metadata.dotnet_interactive.language` (both must be written and agree) and a first-line
/// selector, which wins in Polyglot Notebooks and so must agree too.
let private cellKernel (name: string) (number: int) (kernels: Set<string>) (cell: JsonElement) (source: string) =
    let kernelName = str (path cell [ "metadata"; "polyglot_notebook"; "kernelName" ])
    let language = str (path cell [ "metadata"; "dotnet_interactive"; "language" ])

    let kernel =
        match kernelName, language with
        | Some k, Some l when languageOfKernel.ContainsKey k && languageOfKernel.[k] = l -> k
        | Some k, Some l ->
            fail
                "%s, cell %d: polyglot_notebook.kernelName is %s but dotnet_interactive.language is %s."
                name
                number
                k
                l
        | _ ->
            fail
                "%s, cell %d: a code cell needs metadata.polyglot_notebook.kernelName and metadata.dotnet_interactive.language."
                name
                number

    if not (executableKernels.Contains kernel || displayKernels.Contains kernel) then
        fail
            "%s, cell %d: kernel %s is neither executed (fsharp, csharp) nor checked (mermaid) by these tests."
            name
            number
            kernel

    if not (kernels.Contains kernel) then
        fail "%s, cell %d: kernel %s is missing from polyglot_notebook.kernelInfo.items." name number kernel

    let firstLine = (source.Split('\n').[0]).TrimEnd('\r')
    let m = kernelSelector.Match firstLine

    if m.Success then
        let selected = canonicalKernel m.Groups.[1].Value

        if selected <> kernel then
            fail "%s, cell %d: the first line selects %s but the metadata says %s." name number selected kernel

        let rest = source.IndexOf('\n')
        kernel, (if rest < 0 then "" else source.Substring(rest + 1))
    elif firstLine.StartsWith "#!" then
        fail "%s, cell %d: the magic command %s is not available outside .NET Interactive." name number firstLine
    else
        kernel, source

/// Reads a notebook and checks its format; raises NotebookFormatException naming the cell.
let load (file: string) : Notebook =
    let name = Path.GetFileName file
    use doc = JsonDocument.Parse(File.ReadAllText file)
    let root = doc.RootElement

    match property root "nbformat" with
    | Some v when v.ValueKind = JsonValueKind.Number && v.GetInt32() = 4 -> ()
    | _ -> fail "%s: nbformat must be 4." name

    let defaultKernel, kernels = checkNotebookMetadata name root

    let cells =
        match property root "cells" with
        | Some cs when cs.ValueKind = JsonValueKind.Array -> cs.EnumerateArray() |> List.ofSeq
        | _ -> fail "%s: no \"cells\" list." name

    let readCell i (cell: JsonElement) =
        let number = i + 1
        let source = (sourceText name number cell).Replace("\r\n", "\n")

        match str (property cell "cell_type") with
        | Some "markdown" ->
            {
                Number = number
                Kind = Markdown
                Source = source
            }
        | Some "code" ->
            let kernel, text = cellKernel name number kernels cell source

            {
                Number = number
                Kind = Code kernel
                Source = text
            }
        | other -> fail "%s, cell %d: cell_type %A is neither markdown nor code." name number other

    {
        Path = file
        Name = name
        DefaultKernel = defaultKernel
        Cells = List.mapi readCell cells
    }

/// A Markdown cell is well-formed when it has text and its ``` fences are closed.
let checkMarkdown (notebook: string) (cell: Cell) =
    if String.IsNullOrWhiteSpace cell.Source then
        fail "%s, cell %d: an empty Markdown cell." notebook cell.Number

    let fences =
        cell.Source.Split('\n')
        |> Seq.filter (fun l -> l.TrimStart().StartsWith "```")
        |> Seq.length

    if fences % 2 <> 0 then
        fail "%s, cell %d: a ``` code fence is not closed." notebook cell.Number

let private mermaidDiagrams =
    [
        "flowchart"
        "graph"
        "sequenceDiagram"
        "classDiagram"
        "stateDiagram"
        "stateDiagram-v2"
        "erDiagram"
        "gantt"
        "pie"
        "journey"
        "mindmap"
        "timeline"
    ]

let private flowchartNode = Regex(@"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\[|\(|\{|>)")

let private flowchartEdge =
    Regex(@"^\s*(.+?)\s*(-->|---|-\.->|==>)\s*(?:\|[^|]*\|\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*$")

let private bareId = Regex(@"^[A-Za-z_][A-Za-z0-9_]*$")

/// Mermaid lines without `%%` comments, the diagram's text as Mermaid reads it.
let mermaidBody (source: string) =
    source.Split('\n')
    |> Array.map (fun l -> l.TrimEnd())
    |> Array.filter (fun l -> l <> "" && not (l.TrimStart().StartsWith "%%"))

/// A Mermaid cell is well-formed when it starts with a diagram type, its quotes and brackets
/// balance on every line and, in a flowchart, every edge ends at a node defined somewhere.
let checkMermaid (notebook: string) (cell: Cell) =
    let lines = mermaidBody cell.Source

    if lines.Length = 0 then
        fail "%s, cell %d: an empty Mermaid cell." notebook cell.Number

    let header = lines.[0].Trim().Split(' ').[0]

    if not (List.contains header mermaidDiagrams) then
        fail
            "%s, cell %d: a Mermaid diagram starts with its type (flowchart TD, graph LR, ...), not %s."
            notebook
            cell.Number
            lines.[0]

    for line in lines do
        if (line |> Seq.filter ((=) '"') |> Seq.length) % 2 <> 0 then
            fail "%s, cell %d: unbalanced quotes in the Mermaid line %s" notebook cell.Number line

        // brackets count only outside quoted labels
        let outside = Regex.Replace(line, "\"[^\"]*\"", "")

        for o, c in [ '[', ']'; '(', ')'; '{', '}' ] do
            let count ch =
                outside |> Seq.filter ((=) ch) |> Seq.length

            if count o <> count c then
                fail "%s, cell %d: unbalanced %c%c in the Mermaid line %s" notebook cell.Number o c line

    if header = "flowchart" || header = "graph" then
        let defined = Collections.Generic.HashSet<string>()
        let used = ResizeArray<string>()

        for line in Array.tail lines do
            let e = flowchartEdge.Match line

            if e.Success then
                let source = e.Groups.[1].Value
                let n = flowchartNode.Match source

                if n.Success then
                    defined.Add n.Groups.[1].Value |> ignore
                elif bareId.IsMatch source then
                    used.Add source
                else
                    fail "%s, cell %d: cannot read the edge %s" notebook cell.Number line

                used.Add e.Groups.[3].Value
            else
                let n = flowchartNode.Match line

                if n.Success then
                    defined.Add n.Groups.[1].Value |> ignore
                elif
                    not (
                        bareId.IsMatch(line.Trim())
                        || line.Trim().StartsWith "subgraph"
                        || line.Trim() = "end"
                        || line.Trim().StartsWith "style"
                        || line.Trim().StartsWith "classDef"
                        || line.Trim().StartsWith "class "
                    )
                then
                    fail "%s, cell %d: cannot read the Mermaid line %s" notebook cell.Number line

        for id in used do
            if not (defined.Contains id) then
                fail "%s, cell %d: the edge to or from %s names no node defined in the diagram." notebook cell.Number id

/// The notebooks folder of the repository: found by walking up from the test assembly.
let notebooksFolder () =
    let rec up (dir: DirectoryInfo) =
        if isNull dir then
            failwithf "No notebooks/ folder above %s." AppContext.BaseDirectory
        elif
            File.Exists(Path.Combine(dir.FullName, "FunDiff.sln"))
            && Directory.Exists(Path.Combine(dir.FullName, "notebooks"))
        then
            Path.Combine(dir.FullName, "notebooks")
        else
            up dir.Parent

    up (DirectoryInfo AppContext.BaseDirectory)

/// Every notebook, by file name, in order.
let all () =
    Directory.GetFiles(notebooksFolder (), "*.ipynb") |> Array.sort
