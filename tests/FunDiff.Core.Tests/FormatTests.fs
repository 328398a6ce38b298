module FunDiff.Tests.FormatTests
