module FunDiff.Tests.StackTests
