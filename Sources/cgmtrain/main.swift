import ArgumentParser

/// `cgmtrain`: glucose-forecasting training with MPI data parallelism.
struct CGMTrainCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cgmtrain",
        abstract: "Train glucose-forecasting models with MPI data parallelism.",
        subcommands: [
            SimulateCommand.self, ImportCommand.self, PrepareCommand.self, TrainCommand.self, EvaluateCommand.self, CompareCommand.self,
            CompareContextsCommand.self, ForecastCommand.self, CounterfactualCommand.self, ExplainCommand.self,
            GenerateCommand.self, EmbedCommand.self, ProbeCommand.self, DetectMealsCommand.self, SweepCommand.self,
            DemoCommand.self, CheckSystemCommand.self, DDPCheckCommand.self,
        ]
    )
}

CGMTrainCLI.main()
