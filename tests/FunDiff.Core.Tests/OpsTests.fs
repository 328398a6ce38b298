module FunDiff.Tests.OpsTests
