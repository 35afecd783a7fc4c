/** The scoring use case: {@link ScoringService} and its contracts. */
export { ScoringService } from './service';
export type * from './types';
