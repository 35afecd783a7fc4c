export * from './enums';
export * from './users.table';
export * from './sessions.table';
export * from './predictions.table';
