/** A failure before traffic moved: the deployment stops with this reason and live traffic stays. */
export class DeployFailure extends Error {
  constructor(
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
  }
}
