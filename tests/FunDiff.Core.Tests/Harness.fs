module FunDiff.Tests.Harness
