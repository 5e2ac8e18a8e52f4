// The history list type.
import { Connection } from '../../../common/graphql/connection';
import { ModelEvent } from './model-event.entity';

export const ModelEventConnection = Connection(ModelEvent, 'ModelEvent');
export type ModelEventConnection = InstanceType<typeof ModelEventConnection>;
