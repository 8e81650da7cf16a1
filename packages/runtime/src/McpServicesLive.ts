/**
 * The five MCP service APMs wired to `ApmLive`: one layer per service, for a
 * process that runs one MCP service, and `McpServicesLive` with all five,
 * for one that runs several (the demo).
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import {
  GitWorktreeApm,
  ModelRouterApm,
  PlanManagementApm,
  VerificationFeedbackApm,
  WorkflowOrchestratorApm
} from "@mcp-apm/services"
import { Layer } from "effect"
import { ApmLive } from "./ApmLive.ts"

/**
 * @category layers
 * @since 0.1.0
 */
export const ModelRouterApmLive = ModelRouterApm.layer().pipe(Layer.provideMerge(ApmLive))

/**
 * @category layers
 * @since 0.1.0
 */
export const PlanManagementApmLive = PlanManagementApm.layer().pipe(Layer.provideMerge(ApmLive))

/**
 * The git worktree APM reads worktree sizes through Node's file system.
 *
 * @category layers
 * @since 0.1.0
 */
export const GitWorktreeApmLive = GitWorktreeApm.layer().pipe(
  Layer.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer)),
  Layer.provideMerge(ApmLive)
)

/**
 * @category layers
 * @since 0.1.0
 */
export const WorkflowOrchestratorApmLive = WorkflowOrchestratorApm.layer().pipe(Layer.provideMerge(ApmLive))

/**
 * @category layers
 * @since 0.1.0
 */
export const VerificationFeedbackApmLive = VerificationFeedbackApm.layer().pipe(Layer.provideMerge(ApmLive))

/**
 * All five service APMs over one `ApmLive`.
 *
 * @category layers
 * @since 0.1.0
 */
export const McpServicesLive = Layer.mergeAll(
  ModelRouterApm.layer(),
  PlanManagementApm.layer(),
  GitWorktreeApm.layer().pipe(Layer.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer))),
  WorkflowOrchestratorApm.layer(),
  VerificationFeedbackApm.layer()
).pipe(Layer.provideMerge(ApmLive))
