import ArgumentParser

/// `cgmtrain`: glucose-forecasting training with MPI data parallelism.
struct CGMTrainCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cgmtrain",
        abstract: "Train glucose-forecasting models with MPI data parallelism.",
        subcommands: [
            SimulateCommand.self, PrepareCommand.self, TrainCommand.self, EvaluateCommand.self, ForecastCommand.self,
            DemoCommand.self, CheckSystemCommand.self, DDPCheckCommand.self, CompareContextsCommand.self, ExplainCommand.self,
        ]
    )
}

CGMTrainCLI.main()
