module FunDiff.Tests.TreeTests
